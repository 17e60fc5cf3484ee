//! batch/v1 Jobs and CronJobs.

use serde_json::{Value, json};

use super::{assert_cause, assert_only, assert_valid, create, template, update};

fn job(spec: Value) -> Value {
    json!({"metadata": {"name": "pi", "namespace": "default", "uid": "1234"}, "spec": spec})
}

fn job_spec() -> Value {
    let mut t = template(json!({"app": "pi"}));
    t["spec"]["restartPolicy"] = json!("Never");
    json!({"template": t})
}

#[test]
fn jobs() {
    let obj = super::defaulted("batch", "Job", job(job_spec()));
    assert_eq!(
        obj["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        json!("1234")
    );
    assert_eq!(
        obj["spec"]["template"]["metadata"]["labels"]["job-name"],
        json!("pi")
    );
    assert_valid(&crate::validation::validate_create("batch", "Job", &obj));

    let mut spec = job_spec();
    spec["template"]["spec"]
        .as_object_mut()
        .map(|m| m.remove("restartPolicy"));
    assert_only(
        &create("batch", "Job", job(spec)),
        &[(
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        )],
    );
    let mut spec = job_spec();
    spec["backoffLimit"] = json!(-1);
    spec["completionMode"] = json!("Sometimes");
    let causes = create("batch", "Job", job(spec));
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.backoffLimit",
        "Invalid value: -1: must be greater than or equal to 0",
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.completionMode",
        "Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\"",
    );
}

#[test]
fn job_template_is_immutable() {
    let old = job(job_spec());
    let mut spec = job_spec();
    spec["template"]["spec"]["containers"][0]["image"] = json!("perl:2");
    let causes = update("batch", "Job", job(spec), old.clone());
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "spec.template");
    assert!(causes[0].message.ends_with(": field is immutable"));
    let mut spec = job_spec();
    spec["parallelism"] = json!(3);
    spec["completions"] = json!(1);
    assert_valid(&update("batch", "Job", job(spec), old.clone()));
    let mut spec = job_spec();
    spec["completions"] = json!(5);
    assert_only(
        &update("batch", "Job", job(spec), old),
        &[(
            "FieldValueInvalid",
            "spec.completions",
            "Invalid value: 5: field is immutable",
        )],
    );
}

fn cron(schedule: &str) -> Value {
    let mut spec = job_spec();
    spec["template"]["metadata"] = json!({});
    json!({
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": spec}}
    })
}

#[test]
fn cron_jobs() {
    assert_valid(&create("batch", "CronJob", cron("0 3 * * *")));
    assert_only(
        &create("batch", "CronJob", cron("0 3 * *")),
        &[(
            "FieldValueInvalid",
            "spec.schedule",
            "Invalid value: \"0 3 * *\": expected exactly 5 fields, found 4: [0 3 * *]",
        )],
    );
    assert_only(
        &create("batch", "CronJob", cron("")),
        &[("FieldValueRequired", "spec.schedule", "Required value")],
    );
    assert_cause(
        &create("batch", "CronJob", cron("CRON_TZ=UTC 0 3 * * *")),
        "FieldValueInvalid",
        "spec.schedule",
        "Invalid value: \"CRON_TZ=UTC 0 3 * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
    );
    let mut long = cron("@daily");
    long["metadata"]["name"] = json!("a".repeat(53));
    assert_cause(
        &create("batch", "CronJob", long),
        "FieldValueInvalid",
        "metadata.name",
        &format!(
            "Invalid value: \"{}\": must be no more than 52 characters",
            "a".repeat(53)
        ),
    );
    let mut with_selector = cron("@daily");
    with_selector["spec"]["jobTemplate"]["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
    assert_cause(
        &create("batch", "CronJob", with_selector),
        "FieldValueInvalid",
        "spec.jobTemplate.spec.selector",
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated",
    );
}
