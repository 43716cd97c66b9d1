//! The text form of a fault rule, as `deskprune simulator --fault` takes it:
//!
//! ```text
//! RULE     = ENDPOINT ":" PART { ":" PART }
//! ENDPOINT = list | detail | batch_delete | show_job | sub_jobs | any
//! PART     = trigger:  nth=N | from=N | share=P [seed=S]      (exactly one; N counts from 1)
//!                      times=K                                 (optional cap on hits)
//!          | action:   status=CODE [retry_after=SECS] [body=json|text]
//!                      latency=MS | drop=before|after | truncate | malformed
//!                      oversize[=MIB] | refuse=MS | insert=K | remove=K
//!                      repeat_job_id                           (exactly one)
//! ```
//!
//! e.g. `batch_delete:nth=2:status=429:retry_after=1`, `list:share=0.1:status=503`,
//! `batch_delete:nth=1:drop=after`, `list:nth=1:insert=1`. Parts after the endpoint come in
//! any order; an error names the part it is about.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::fault::{DropPoint, Endpoint, FaultAction, FaultRule, Trigger};

/// The size of `oversize` without a value: more than the client's 64 MiB cap.
pub const DEFAULT_OVERSIZE_MIB: u64 = 80;

pub(super) const ENDPOINTS: [(&str, Endpoint); 6] = [
    ("list", Endpoint::List),
    ("detail", Endpoint::Detail),
    ("batch_delete", Endpoint::BatchDelete),
    ("show_job", Endpoint::ShowJob),
    ("sub_jobs", Endpoint::SubJobs),
    ("any", Endpoint::Any),
];

/// A rule that does not parse: the whole rule and what is wrong, naming the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault `{rule}`: {problem}")]
pub struct FaultSyntaxError {
    pub rule: String,
    pub problem: String,
}

impl FromStr for FaultRule {
    type Err = FaultSyntaxError;

    fn from_str(text: &str) -> Result<FaultRule, FaultSyntaxError> {
        parse(text).map_err(|problem| FaultSyntaxError {
            rule: text.to_string(),
            problem,
        })
    }
}

/// The parts of a rule as given, each kept whole (`nth=2`) for messages.
#[derive(Default)]
struct Parts<'a> {
    trigger: Option<(&'a str, Trigger)>,
    seed: Option<(&'a str, u64)>,
    times: Option<u64>,
    action: Option<(&'a str, FaultAction)>,
    retry_after: Option<(&'a str, u64)>,
    plain_text: Option<(&'a str, bool)>,
}

fn parse(text: &str) -> Result<FaultRule, String> {
    let mut parts = text.split(':');
    let endpoint_name = parts.next().unwrap_or_default().trim();
    let endpoint = ENDPOINTS
        .iter()
        .find(|(name, _)| *name == endpoint_name)
        .map(|(_, endpoint)| *endpoint)
        .ok_or_else(|| {
            format!(
                "`{endpoint_name}` is not an endpoint; expected one of {}",
                ENDPOINTS.map(|(name, _)| name).join(", ")
            )
        })?;
    let mut seen = Parts::default();
    let mut keys: Vec<&str> = Vec::new();
    for part in parts {
        let part = part.trim();
        let (key, value) = match part.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (part, None),
        };
        if keys.contains(&key) {
            return Err(format!("`{part}`: `{key}` is given twice"));
        }
        keys.push(key);
        read_part(part, key, value, &mut seen)?;
    }
    let Some((_, mut trigger)) = seen.trigger else {
        return Err("no trigger: add `nth=N`, `from=N` or `share=P`".to_string());
    };
    if let Some((part, seed)) = seen.seed {
        match &mut trigger {
            Trigger::Share { seed: slot, .. } => *slot = seed,
            _ => return Err(format!("`{part}`: a seed goes only with `share=P`")),
        }
    }
    let Some((_, mut action)) = seen.action else {
        return Err(
            "no action: add one of `status=CODE`, `latency=MS`, `drop=before|after`, `truncate`, \
             `malformed`, `oversize[=MIB]`, `refuse=MS`, `insert=K`, `remove=K`, `repeat_job_id`"
                .to_string(),
        );
    };
    if !matches!(action, FaultAction::Status { .. }) {
        let retry_after = seen.retry_after.map(|(part, _)| part);
        let modifier = retry_after.or(seen.plain_text.map(|(part, _)| part));
        if let Some(part) = modifier {
            return Err(format!("`{part}`: goes only with `status=CODE`"));
        }
    }
    if let FaultAction::Status {
        retry_after,
        plain_text,
        ..
    } = &mut action
    {
        *retry_after = seen.retry_after.map(|(_, seconds)| seconds);
        *plain_text = seen.plain_text.is_some_and(|(_, plain)| plain);
    }
    Ok(FaultRule {
        endpoint,
        trigger,
        times: seen.times,
        action,
    })
}

fn read_part<'a>(
    part: &'a str,
    key: &str,
    value: Option<&str>,
    seen: &mut Parts<'a>,
) -> Result<(), String> {
    let number = |min: u64, what: &str| -> Result<u64, String> {
        let value = value.ok_or_else(|| format!("`{part}`: needs a value, e.g. `{key}=1`"))?;
        value
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| format!("`{part}`: {what}"))
    };
    let flag = || -> Result<(), String> {
        match value {
            None => Ok(()),
            Some(_) => Err(format!("`{part}`: `{key}` takes no value")),
        }
    };
    let mut trigger = |trigger: Trigger| -> Result<(), String> {
        if let Some((earlier, _)) = seen.trigger {
            return Err(format!(
                "`{part}`: a rule has one trigger, and `{earlier}` is one"
            ));
        }
        seen.trigger = Some((part, trigger));
        Ok(())
    };
    match key {
        "nth" => trigger(Trigger::Nth(number(1, "calls are numbered from 1")?))?,
        "from" => trigger(Trigger::From(number(1, "calls are numbered from 1")?))?,
        "share" => {
            let share = value
                .and_then(|value| value.parse::<f64>().ok())
                .filter(|share| (0.0..=1.0).contains(share))
                .ok_or_else(|| format!("`{part}`: a share is a number from 0 to 1, e.g. 0.1"))?;
            trigger(Trigger::Share { share, seed: 1 })?;
        }
        "seed" => seen.seed = Some((part, number(0, "a seed is a whole number")?)),
        "times" => seen.times = Some(number(1, "a count of at least 1")?),
        "retry_after" => {
            seen.retry_after = Some((part, number(0, "a whole number of seconds")?));
        }
        "body" => {
            let plain = match value {
                Some("json") => false,
                Some("text") => true,
                _ => return Err(format!("`{part}`: the body is `json` or `text`")),
            };
            seen.plain_text = Some((part, plain));
        }
        _ => {
            let action = read_action(part, key, value, &number, &flag)?;
            if let Some((earlier, _)) = &seen.action {
                return Err(format!(
                    "`{part}`: a rule has one action, and `{earlier}` is one"
                ));
            }
            seen.action = Some((part, action));
        }
    }
    Ok(())
}

fn read_action(
    part: &str,
    key: &str,
    value: Option<&str>,
    number: &dyn Fn(u64, &str) -> Result<u64, String>,
    flag: &dyn Fn() -> Result<(), String>,
) -> Result<FaultAction, String> {
    // An hour at most: a wait much longer would overflow the clock it is added to.
    let millis = |n: u64| {
        (n <= 3_600_000)
            .then(|| Duration::from_millis(n))
            .ok_or_else(|| format!("`{part}`: at most an hour, 3600000 milliseconds"))
    };
    Ok(match key {
        "status" => FaultAction::Status {
            status: u16::try_from(number(400, "an error status from 400 to 599")?)
                .ok()
                .filter(|status| *status <= 599)
                .ok_or_else(|| format!("`{part}`: an error status from 400 to 599"))?,
            retry_after: None,
            plain_text: false,
        },
        "latency" => FaultAction::Latency(millis(number(0, "milliseconds, e.g. 200")?)?),
        "drop" => FaultAction::Drop(match value {
            Some("before") => DropPoint::Before,
            Some("after") => DropPoint::After,
            _ => {
                return Err(format!(
                    "`{part}`: drop `before` or `after` the call is carried out"
                ));
            }
        }),
        "truncate" => {
            flag()?;
            FaultAction::Truncate
        }
        "malformed" => {
            flag()?;
            FaultAction::Malformed
        }
        "oversize" => FaultAction::Oversize {
            mib: match value {
                None => DEFAULT_OVERSIZE_MIB,
                Some(_) => number(1, "a size in MiB of at least 1")?,
            },
        },
        "refuse" => FaultAction::Refuse(millis(number(1, "milliseconds, e.g. 500")?)?),
        "insert" => FaultAction::Insert(count(number(1, "a count of at least 1")?, part)?),
        "remove" => FaultAction::Remove(count(number(1, "a count of at least 1")?, part)?),
        "repeat_job_id" => {
            flag()?;
            FaultAction::RepeatJobId
        }
        _ => {
            return Err(format!(
                "`{part}`: unknown part `{key}`; expected a trigger (nth, from, share, seed, \
                 times) or an action (status, retry_after, body, latency, drop, truncate, \
                 malformed, oversize, refuse, insert, remove, repeat_job_id)"
            ));
        }
    })
}

fn count(n: u64, part: &str) -> Result<usize, String> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= 1_000_000)
        .ok_or_else(|| format!("`{part}`: too many, at most 1000000"))
}

impl fmt::Display for FaultRule {
    /// The canonical text form, which parses back to the same rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = ENDPOINTS
            .iter()
            .find(|(_, endpoint)| *endpoint == self.endpoint)
            .map(|(name, _)| *name)
            .unwrap_or("any");
        write!(f, "{endpoint}:")?;
        match self.trigger {
            Trigger::Nth(n) => write!(f, "nth={n}")?,
            Trigger::From(n) => write!(f, "from={n}")?,
            Trigger::Share { share, seed } => write!(f, "share={share}:seed={seed}")?,
        }
        if let Some(times) = self.times {
            write!(f, ":times={times}")?;
        }
        match &self.action {
            FaultAction::Status {
                status,
                retry_after,
                plain_text,
            } => {
                write!(f, ":status={status}")?;
                if let Some(seconds) = retry_after {
                    write!(f, ":retry_after={seconds}")?;
                }
                if *plain_text {
                    write!(f, ":body=text")?;
                }
                Ok(())
            }
            FaultAction::Latency(delay) => write!(f, ":latency={}", delay.as_millis()),
            FaultAction::Drop(DropPoint::Before) => write!(f, ":drop=before"),
            FaultAction::Drop(DropPoint::After) => write!(f, ":drop=after"),
            FaultAction::Truncate => write!(f, ":truncate"),
            FaultAction::Malformed => write!(f, ":malformed"),
            FaultAction::Oversize { mib } => write!(f, ":oversize={mib}"),
            FaultAction::Refuse(time) => write!(f, ":refuse={}", time.as_millis()),
            FaultAction::Insert(n) => write!(f, ":insert={n}"),
            FaultAction::Remove(n) => write!(f, ":remove={n}"),
            FaultAction::RepeatJobId => write!(f, ":repeat_job_id"),
        }
    }
}

#[cfg(test)]
mod tests;
