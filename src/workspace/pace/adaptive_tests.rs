//! The controller's curve, on a clock the tests move by hand.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A limit stated as `calls` per `seconds`.
fn stated(calls: u32, seconds: u64) -> Option<StatedLimit> {
    Some(StatedLimit {
        calls,
        per: Duration::from_secs(seconds),
    })
}

/// How many calls `controller` lets leave at `now`.
fn burst(controller: &mut Adaptive, now: Instant) -> usize {
    let mut sent = 0;
    while controller.try_acquire(now).is_ok() {
        sent += 1;
    }
    sent
}

#[test]
fn it_starts_modest_and_a_second_of_calls_leaves_at_once() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    assert_eq!(controller.rate(), START_RATE);
    assert_eq!(burst(&mut controller, t0), 10);
    // The next token comes a tenth of a second later.
    assert_eq!(controller.try_acquire(t0), Err(t0 + ms(100)));
    assert_eq!(controller.try_acquire(t0 + ms(100)), Ok(()));
}

#[test]
fn unthrottled_answers_raise_the_rate_quickly_while_it_is_used() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    let mut now = t0;
    // Rounds of eight calls, 25 ms each way: the rate doubles (or more) every round.
    let mut rates = Vec::new();
    for _ in 0..6 {
        let sent_at = now;
        let sent = burst(&mut controller, now).min(8);
        now += ms(25);
        for _ in 0..sent {
            controller.on_success(now, sent_at);
        }
        rates.push(controller.rate());
    }
    assert!(rates.windows(2).all(|pair| pair[1] >= pair[0]), "{rates:?}");
    assert!(controller.rate() > 300.0, "{rates:?}");
}

#[test]
fn the_rate_never_grows_past_twice_what_is_used() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    // One call a second for a minute: the rate stays near what it started at.
    for second in 0..60 {
        let now = t0 + Duration::from_secs(second);
        controller.try_acquire(now).unwrap();
        controller.on_success(now + ms(25), now);
    }
    assert!(controller.rate() <= START_RATE, "{}", controller.rate());
}

#[test]
fn a_ceiling_is_never_passed() {
    let t0 = Instant::now();
    // 0.1: below the floor the controller cuts to (the config allows down to 0.01).
    for ceiling in [4.0, 0.1] {
        let mut controller = Adaptive::new(Some(ceiling), t0);
        assert_eq!(controller.rate(), ceiling);
        let mut now = t0;
        for _ in 0..200 {
            if controller.try_acquire(now).is_ok() {
                controller.on_success(now + ms(25), now);
            }
            // 10 ms at 4 a second: a few times the ceiling's pace.
            now += Duration::from_secs_f64(0.04 / ceiling);
        }
        assert_eq!(controller.rate(), ceiling);
    }
    let mut odd = Adaptive::new(Some(f64::NAN), t0);
    assert_eq!(odd.rate(), MIN_RATE);
    assert!(odd.try_acquire(t0).is_ok());
}

#[test]
fn a_throttle_cuts_the_rate_once_per_round_and_pauses_every_call() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    assert_eq!(burst(&mut controller, t0), 10);
    let now = t0 + ms(500);
    // Ten calls in the last half second were sent at 20 a second, below the rate of 10?
    // No: the rate used is what was sent, measured over the window; the cut takes the
    // smaller of that and the rate.
    let change = controller
        .on_throttled(now, t0, "APIGW.0308", None, None)
        .expect("a cut");
    assert_eq!(change.from, 10.0);
    assert_eq!(change.to, 7.0);
    assert_eq!(
        change.to_string(),
        "rate: 10.0 → 7.0 calls/s (throttled: APIGW.0308)"
    );
    // The other calls of that round were sent before the cut: no second cut.
    for _ in 0..5 {
        assert_eq!(
            controller.on_throttled(now, t0, "APIGW.0308", None, None),
            None
        );
    }
    assert_eq!(controller.rate(), 7.0);
    // The bucket was emptied: nothing leaves before the next token at the new rate.
    let next = controller.try_acquire(now).unwrap_err();
    assert_eq!(next, now + Duration::from_secs_f64(1.0 / 7.0));
    assert!(controller.try_acquire(next).is_ok());
    // A call sent after the cut and throttled again cuts again.
    let later = next + ms(25);
    let change = controller.on_throttled(later, next, "APIGW.0308", None, None);
    assert_eq!(change.map(|c| c.to), Some(7.0 * BETA));
}

#[test]
fn retry_after_holds_every_call_until_it_passes() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    controller.try_acquire(t0).unwrap();
    controller.on_throttled(
        t0 + ms(25),
        t0,
        "APIGW.0308",
        Some(Duration::from_secs(2)),
        None,
    );
    let until = t0 + ms(2025);
    assert_eq!(controller.try_acquire(t0 + ms(30)), Err(until));
    assert_eq!(controller.try_acquire(until - ms(1)), Err(until));
    // A stale throttle with a shorter Retry-After does not shorten the pause.
    controller.on_throttled(t0 + ms(40), t0, "APIGW.0308", Some(ms(100)), None);
    assert_eq!(controller.try_acquire(t0 + ms(200)), Err(until));
    assert!(controller.try_acquire(until).is_ok());
}

#[test]
fn after_a_cut_the_rate_follows_the_cubic_back_to_where_it_was_cut_and_beyond() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    // Twenty calls a second for two seconds, then a throttle: cut from 20 to 14.
    let mut now = t0;
    for _ in 0..40 {
        while controller.try_acquire(now).is_err() {
            now += ms(1);
        }
        controller.on_success(now + ms(25), now);
        controller.set_rate(20.0);
        now += ms(50);
    }
    let cut = controller
        .on_throttled(now, now, "APIGW.0308", None, None)
        .unwrap();
    assert!((cut.from - 20.0).abs() < 1.0, "{cut:?}");
    let w_max = cut.from;
    let k = (w_max * (1.0 - BETA) / SCALE).cbrt();
    let at = |seconds: f64| now + Duration::from_secs_f64(seconds);
    // Keep the measured use high, so only the curve decides.
    let mut rate_at = |seconds: f64| {
        for _ in 0..40 {
            controller.record_send(at(seconds));
        }
        controller.on_success(at(seconds), at(seconds));
        controller.rate()
    };
    let early = rate_at(0.5);
    let plateau = rate_at(k);
    let later = rate_at(k + 3.0);
    assert!(early > w_max * BETA && early < w_max, "{early}");
    assert!((plateau - w_max).abs() < 0.01, "{plateau} vs {w_max}");
    assert!((later - (w_max + SCALE * 27.0)).abs() < 0.01, "{later}");
}

#[test]
fn a_throttle_of_the_first_call_cuts_from_the_starting_rate_not_from_one_call() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    controller.try_acquire(t0).unwrap();
    let cut = controller.on_throttled(t0 + ms(25), t0, "APIGW.0308", None, None);
    assert_eq!(cut.map(|c| c.to), Some(START_RATE * BETA));
}

#[test]
fn repeated_throttles_stop_at_the_floor() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    let mut now = t0;
    for _ in 0..40 {
        now += Duration::from_secs(10);
        controller.on_throttled(now, now, "APIGW.0308", None, None);
    }
    assert_eq!(controller.rate(), MIN_RATE);
}

/// A gateway that allows `limit_for(ms)` = (calls a second, bucket size), driven on a
/// millisecond clock with calls always waiting to leave, eight in flight at most, 25 ms
/// each way; its throttled answers state its limit when `states` (as the real gateway's
/// message does). Returns the calls sent and throttled in each second.
fn against_gateway(
    limit_for: impl Fn(u64) -> (f64, f64),
    seconds: u64,
    states: bool,
) -> Vec<(u32, u32)> {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    let mut gateway_tokens = limit_for(0).1;
    let mut in_flight: VecDeque<(u64, Instant, bool)> = VecDeque::new();
    let mut per_second = vec![(0u32, 0u32); seconds as usize];
    for tick in 0..seconds * 1000 {
        let now = t0 + ms(tick);
        let (limit, bucket) = limit_for(tick);
        gateway_tokens = (gateway_tokens + limit / 1000.0).min(bucket);
        while in_flight.front().is_some_and(|(due, ..)| *due == tick) {
            let (_, sent_at, throttled) = in_flight.pop_front().unwrap();
            if throttled {
                let limit = states.then(|| stated(limit as u32, 1)).flatten();
                controller.on_throttled(now, sent_at, "APIGW.0308", None, limit);
            } else {
                controller.on_success(now, sent_at);
            }
        }
        while in_flight.len() < 8 && controller.try_acquire(now).is_ok() {
            let throttled = gateway_tokens < 1.0;
            if !throttled {
                gateway_tokens -= 1.0;
            }
            let second = &mut per_second[(tick / 1000) as usize];
            second.0 += 1;
            second.1 += u32::from(throttled);
            in_flight.push_back((tick + 25, now, throttled));
        }
    }
    per_second
}

#[test]
fn against_a_limit_of_20_a_second_it_converges_and_is_rarely_throttled() {
    // Whether or not the gateway's answers state its limit.
    for states in [false, true] {
        let seconds = against_gateway(|_| (20.0, 20.0), 60, states);
        let (sent, throttled) = seconds[5..]
            .iter()
            .fold((0, 0), |(s, t), (sent, thr)| (s + sent, t + thr));
        let accepted = sent - throttled;
        // Close to the limit, and under 5 % throttled after the first seconds.
        assert!(
            accepted as f64 >= 0.8 * 20.0 * 55.0,
            "{states}: {seconds:?}"
        );
        assert!(
            (throttled as f64) < 0.05 * sent as f64,
            "{states}: {seconds:?}"
        );
    }
}

#[test]
fn a_stated_limit_spares_the_probing_into_it() {
    // Its stated limit takes the rate to 18 a second at the first throttle, and holds it
    // there. Left to find the limit itself, the curve probes into it far more often.
    let count = |states| {
        let seconds = against_gateway(|_| (20.0, 20.0), 60, states);
        let late: u32 = seconds[1..].iter().map(|s| s.1).sum();
        let accepted: u32 = seconds[1..].iter().map(|s| s.0 - s.1).sum();
        (late, accepted)
    };
    let (stated_late, stated_accepted) = count(true);
    let (found_late, _) = count(false);
    // One probe past the limit once each hold has passed: a throttle or so every 10 s.
    let holds = 59 / STATED_FOR.as_secs() as u32 + 1;
    assert!(stated_late <= holds, "{stated_late}");
    assert!(
        found_late >= 3 * stated_late,
        "{found_late} vs {stated_late}"
    );
    // At least 18 a second: the stated 20 with a tenth kept free.
    assert!(
        f64::from(stated_accepted) >= STATED_SHARE * 20.0 * 59.0 * 0.98,
        "{stated_accepted}"
    );
}

#[test]
fn against_a_limit_of_600_a_minute_it_is_rarely_throttled() {
    for states in [false, true] {
        // The first minute's 600 calls leave in a burst; then 10 a second.
        let seconds = against_gateway(|_| (10.0, 600.0), 180, states);
        let sent: u32 = seconds.iter().map(|s| s.0).sum();
        let throttled: u32 = seconds.iter().map(|s| s.1).sum();
        assert!(
            (throttled as f64) < 0.05 * sent as f64,
            "{states}: {seconds:?}"
        );
        assert!(
            (sent - throttled) as f64 >= 0.8 * (600.0 + 10.0 * 180.0),
            "{states}: {seconds:?}"
        );
    }
}

#[test]
fn once_the_limit_is_lifted_the_rate_climbs_again() {
    for states in [false, true] {
        // 20 a second for 20 s, then 1,000.
        let seconds = against_gateway(
            |tick| {
                if tick < 20_000 {
                    (20.0, 20.0)
                } else {
                    (1000.0, 1000.0)
                }
            },
            40,
            states,
        );
        let before: u32 = seconds[15..20].iter().map(|s| s.0).sum();
        let after: u32 = seconds[35..40].iter().map(|s| s.0).sum();
        assert!(after > 3 * before, "{states}: {seconds:?}");
    }
}

#[test]
fn the_first_stated_limit_sets_the_rate_under_it_and_holds_it_there_for_a_while() {
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    controller.try_acquire(t0).unwrap();
    // The first throttle states 20 a second: straight to 18, even from the starting 10.
    let change = controller
        .on_throttled(t0 + ms(25), t0, "APIGW.0308", None, stated(20, 1))
        .unwrap();
    assert_eq!(change.to, 20.0 * STATED_SHARE);
    assert_eq!(
        change.to_string(),
        "rate: 10.0 → 18.0 calls/s (throttled: APIGW.0308); the gateway's limit: 20 calls a second"
    );
    // Answers, as many as a high rate would need to grow: it stays at 18 while the hold lasts.
    let mut now = t0 + ms(25);
    while now < t0 + STATED_FOR {
        for _ in 0..40 {
            controller.record_send(now);
        }
        controller.on_success(now, now - ms(25));
        assert!(
            controller.rate() <= 18.0,
            "{} at {:?}",
            controller.rate(),
            now - t0
        );
        now += ms(100);
    }
    // Then it probes past it, gently: a second later barely above, three seconds later more.
    let expired = t0 + ms(25) + STATED_FOR;
    let mut rate_at = |at: Instant| {
        for _ in 0..40 {
            controller.record_send(at);
        }
        controller.on_success(at, at - ms(25));
        controller.rate()
    };
    let held = rate_at(expired);
    let one = rate_at(expired + ms(1000));
    let three = rate_at(expired + ms(3000));
    assert!(held <= 18.0 + 1e-9, "{held}");
    assert!(one > held && one < held + 1.0, "{one}");
    assert!(three > one + 5.0, "{three}");
}

#[test]
fn a_stated_limit_never_lifts_the_configured_ceiling_nor_goes_below_the_floor() {
    let t0 = Instant::now();
    let mut capped = Adaptive::new(Some(5.0), t0);
    capped.try_acquire(t0).unwrap();
    capped.on_throttled(t0 + ms(25), t0, "APIGW.0308", None, stated(20, 1));
    assert_eq!(capped.rate(), 5.0);
    // Ten calls a day: the floor, so the run ends (its calls give up) instead of crawling.
    let mut crawl = Adaptive::new(None, t0);
    crawl.try_acquire(t0).unwrap();
    crawl.on_throttled(t0 + ms(25), t0, "APIGW.0308", None, stated(10, 86_400));
    assert_eq!(crawl.rate(), MIN_RATE);
}

#[test]
fn a_later_throttle_under_a_stated_limit_still_cuts() {
    // Others share the limit: a throttle below the stated ceiling cuts as any other does.
    let t0 = Instant::now();
    let mut controller = Adaptive::new(None, t0);
    controller.try_acquire(t0).unwrap();
    controller.on_throttled(t0 + ms(25), t0, "APIGW.0308", None, stated(20, 1));
    let mut now = t0 + ms(100);
    for _ in 0..20 {
        while controller.try_acquire(now).is_err() {
            now += ms(1);
        }
        controller.on_success(now + ms(25), now);
        now += ms(100);
    }
    let cut = controller
        .on_throttled(now, now - ms(25), "APIGW.0308", None, stated(20, 1))
        .unwrap();
    assert!(cut.to < cut.from * 0.8, "{cut:?}");
}
