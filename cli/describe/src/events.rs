//! The "Events:" section that closes most layouts.

use capstan_api_types::time::{Nanos, ZERO_TIME, human_age};
use serde_json::Value;

use crate::json::{int_at, opt_time, present, str_at, time_at};
use crate::writer::Writer;

/// Writes "Events:\t<none>", or the events as a Type/Reason/Age/From/Message table, oldest first.
pub(crate) fn write_events(w: &mut Writer, events: &[Value], now: Nanos) {
    if events.is_empty() {
        w.line(0, "Events:\t<none>");
        return;
    }
    let mut sorted: Vec<&Value> = events.iter().collect();
    sorted.sort_by_key(|e| sort_time(e));
    w.line(0, "Events:");
    w.line(1, "Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in sorted {
        let source = match str_at(e, "/source/component") {
            "" => str_at(e, "/reportingComponent"),
            component => component,
        };
        w.line(
            1,
            format_args!(
                "{}\t{}\t{}\t{}\t{}",
                str_at(e, "/type"),
                str_at(e, "/reason"),
                age(e, now),
                source,
                str_at(e, "/message").trim()
            ),
        );
    }
}

/// kubectl orders by lastTimestamp. Events written through the events.k8s.io API may carry only
/// a series or an eventTime; falling back to those keeps them in time order instead of first.
fn sort_time(e: &Value) -> Nanos {
    opt_time(e, "/lastTimestamp")
        .or_else(|| opt_time(e, "/series/lastObservedTime"))
        .or_else(|| opt_time(e, "/eventTime"))
        .or_else(|| opt_time(e, "/firstTimestamp"))
        .unwrap_or(ZERO_TIME)
}

/// "5m", or "30s (x4 over 10m)" for a repeated event: time since it last happened, the count,
/// and time since it first happened.
fn age(e: &Value, now: Nanos) -> String {
    let first = match opt_time(e, "/eventTime") {
        Some(t) if t != ZERO_TIME => t,
        _ => time_at(e, "/firstTimestamp"),
    };
    let first_since = human_age(first, now);
    if present(e, "/series") {
        return format!(
            "{} (x{} over {first_since})",
            human_age(time_at(e, "/series/lastObservedTime"), now),
            int_at(e, "/series/count")
        );
    }
    let count = int_at(e, "/count");
    if count > 1 {
        return format!(
            "{} (x{count} over {first_since})",
            human_age(time_at(e, "/lastTimestamp"), now)
        );
    }
    first_since
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_api_types::time::NANOS_PER_SEC;
    use serde_json::json;

    const NOW: Nanos = 1_717_243_200 * NANOS_PER_SEC;

    fn render(events: &[Value]) -> String {
        let mut w = Writer::new();
        write_events(&mut w, events, NOW);
        w.finish()
    }

    #[test]
    fn no_events() {
        assert_eq!(render(&[]), "Events:  <none>\n");
    }

    #[test]
    fn table_sorted_oldest_first_with_repeat_counts() {
        let events = [
            json!({"type": "Warning", "reason": "BackOff", "message": "Back-off restarting\n",
                   "source": {"component": "kubelet"}, "count": 4,
                   "firstTimestamp": "2024-06-01T11:50:00Z", "lastTimestamp": "2024-06-01T11:57:00Z"}),
            json!({"type": "Normal", "reason": "Scheduled", "message": "Assigned",
                   "reportingComponent": "default-scheduler", "eventTime": "2024-06-01T11:49:00.123456Z",
                   "firstTimestamp": null, "lastTimestamp": null}),
            json!({"type": "Normal", "reason": "Pulled", "message": "ok",
                   "eventTime": "2024-06-01T11:51:00.000000Z", "reportingComponent": "kubelet",
                   "series": {"count": 3, "lastObservedTime": "2024-06-01T11:58:00.000000Z"}}),
            json!({}),
        ];
        let out = render(&events);
        let want = "\
Events:
  Type     Reason     Age               From               Message
  ----     ------     ----              ----               -------
                      <unknown>                            
  Normal   Scheduled  10m               default-scheduler  Assigned
  Warning  BackOff    3m (x4 over 10m)  kubelet            Back-off restarting
  Normal   Pulled     2m (x3 over 9m)   kubelet            ok
";
        assert_eq!(out, want);
    }
}
