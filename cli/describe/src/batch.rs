//! batch/v1 layouts: Job and CronJob.

use capstan_api_types::printing::selector_string;
use capstan_api_types::time::human_duration_between;
use serde_json::Value;

use crate::Context;
use crate::events::write_events;
use crate::json::{
    arr_at, int_at, label_text, opt_bool, opt_int, opt_str, opt_time, present, str_at,
};
use crate::meta::{self, bool_ptr, timestamp};
use crate::pod::describe_template;
use crate::writer::Writer;

/// Completed indexes beyond this many characters are cut at the next comma.
const COMPLETED_INDEXES_SOFT_LIMIT: usize = 50;

fn selector_line(w: &mut Writer, selector: Option<&Value>) {
    match selector_string(selector, label_text) {
        Ok(s) => w.line(0, format_args!("Selector:\t{s}")),
        Err(e) => w.line(0, format_args!("Selector:\tFailed to get selector: {e}")),
    }
}

/// "Title:\tN" with `unit` after the number, or "Title:\t<unset>" when the field is absent.
fn count_line(w: &mut Writer, title: &str, value: Option<i64>, unit: &str) {
    match value {
        Some(n) => w.line(0, format_args!("{title}:\t{n}{unit}")),
        None => w.line(0, format_args!("{title}:\t<unset>")),
    }
}

pub(crate) fn describe_job(w: &mut Writer, job: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, job);
    selector_line(w, job.pointer("/spec/selector"));
    meta::labels_and_annotations(w, job);
    meta::controlled_by_line(w, job);
    if let Some(p) = opt_int(job, "/spec/parallelism") {
        w.line(0, format_args!("Parallelism:\t{p}"));
    }
    count_line(w, "Completions", opt_int(job, "/spec/completions"), "");
    let mode = opt_str(job, "/spec/completionMode");
    if let Some(mode) = mode {
        w.line(0, format_args!("Completion Mode:\t{mode}"));
    }
    if let Some(suspend) = opt_bool(job, "/spec/suspend") {
        w.line(0, format_args!("Suspend:\t{suspend}"));
    }
    if let Some(limit) = opt_int(job, "/spec/backoffLimit") {
        w.line(0, format_args!("Backoff Limit:\t{limit}"));
    }
    if let Some(ttl) = opt_int(job, "/spec/ttlSecondsAfterFinished") {
        w.line(0, format_args!("TTL Seconds After Finished:\t{ttl}"));
    }
    let start = opt_time(job, "/status/startTime");
    let completion = opt_time(job, "/status/completionTime");
    if start.is_some() {
        w.line(
            0,
            format_args!("Start Time:\t{}", timestamp(job, "/status/startTime")),
        );
    }
    if completion.is_some() {
        w.line(
            0,
            format_args!(
                "Completed At:\t{}",
                timestamp(job, "/status/completionTime")
            ),
        );
    }
    if let (Some(start), Some(end)) = (start, completion) {
        w.line(
            0,
            format_args!("Duration:\t{}", human_duration_between(start, end)),
        );
    }
    if let Some(deadline) = opt_int(job, "/spec/activeDeadlineSeconds") {
        w.line(0, format_args!("Active Deadline Seconds:\t{deadline}s"));
    }
    let (active, succeeded, failed) = (
        int_at(job, "/status/active"),
        int_at(job, "/status/succeeded"),
        int_at(job, "/status/failed"),
    );
    match opt_int(job, "/status/ready") {
        Some(ready) => w.line(
            0,
            format_args!(
                "Pods Statuses:\t{active} Active ({ready} Ready) / {succeeded} Succeeded / {failed} Failed"
            ),
        ),
        None => w.line(
            0,
            format_args!("Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed"),
        ),
    }
    if mode == Some("Indexed") {
        w.line(
            0,
            format_args!(
                "Completed Indexes:\t{}",
                cap_indexes(str_at(job, "/status/completedIndexes"))
            ),
        );
    }
    describe_template(w, &job["spec"]["template"]);
    write_events(w, cx.events, cx.now);
}

/// "1-3,5,7-9" cut after the first comma past the soft limit, with "..." marking the cut.
fn cap_indexes(indexes: &str) -> String {
    if indexes.is_empty() {
        return "<none>".into();
    }
    match indexes
        .char_indices()
        .find(|(i, c)| *i >= COMPLETED_INDEXES_SOFT_LIMIT && *c == ',')
    {
        Some((i, _)) => format!("{}...", &indexes[..=i]),
        None => indexes.to_string(),
    }
}

pub(crate) fn describe_cron_job(w: &mut Writer, cj: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, cj);
    meta::labels_and_annotations(w, cj);
    w.line(
        0,
        format_args!("Schedule:\t{}", str_at(cj, "/spec/schedule")),
    );
    w.line(
        0,
        format_args!(
            "Concurrency Policy:\t{}",
            str_at(cj, "/spec/concurrencyPolicy")
        ),
    );
    w.line(
        0,
        format_args!("Suspend:\t{}", bool_ptr(opt_bool(cj, "/spec/suspend"))),
    );
    for (title, field, unit) in [
        (
            "Successful Job History Limit",
            "/spec/successfulJobsHistoryLimit",
            "",
        ),
        (
            "Failed Job History Limit",
            "/spec/failedJobsHistoryLimit",
            "",
        ),
        (
            "Starting Deadline Seconds",
            "/spec/startingDeadlineSeconds",
            "s",
        ),
    ] {
        count_line(w, title, opt_int(cj, field), unit);
    }
    job_template(w, &cj["spec"]["jobTemplate"]);
    if present(cj, "/status/lastScheduleTime") {
        w.line(
            0,
            format_args!(
                "Last Schedule Time:\t{}",
                timestamp(cj, "/status/lastScheduleTime")
            ),
        );
    } else {
        w.line(0, "Last Schedule Time:\t<unset>");
    }
    let active: Vec<&str> = arr_at(cj, "/status/active")
        .iter()
        .map(|r| str_at(r, "/name"))
        .collect();
    if active.is_empty() {
        w.line(0, "Active Jobs:\t<none>");
    } else {
        w.line(0, format_args!("Active Jobs:\t{}", active.join(", ")));
    }
    write_events(w, cx.events, cx.now);
}

fn job_template(w: &mut Writer, template: &Value) {
    let spec = &template["spec"];
    match spec.get("selector").filter(|s| !s.is_null()) {
        Some(sel) => selector_line(w, Some(sel)),
        None => w.line(0, "Selector:\t<unset>"),
    }
    for (title, field) in [
        ("Parallelism", "/parallelism"),
        ("Completions", "/completions"),
    ] {
        count_line(w, title, opt_int(spec, field), "");
    }
    if let Some(deadline) = opt_int(spec, "/activeDeadlineSeconds") {
        w.line(0, format_args!("Active Deadline Seconds:\t{deadline}s"));
    }
    describe_template(w, &spec["template"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_indexes_are_capped_at_a_comma() {
        assert_eq!(cap_indexes(""), "<none>");
        assert_eq!(cap_indexes("1-3,5"), "1-3,5");
        let long: String = (0..40)
            .map(|i| format!("{}", i * 2))
            .collect::<Vec<_>>()
            .join(",");
        let capped = cap_indexes(&long);
        assert!(capped.ends_with(",..."), "{capped}");
        assert!(capped.len() < long.len());
    }
}
