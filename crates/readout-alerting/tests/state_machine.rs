//! The state machine as a user lives it (a disk filling up and emptying)
//! and its properties under random rules and random noise.

use proptest::prelude::*;
use readout_alerting::{Observation, Range, Rule, State, Tracker, Transition};

fn run(rule: &Rule, tracker: &mut Tracker, observations: &[Observation]) -> Vec<Transition> {
    observations
        .iter()
        .filter_map(|o| tracker.observe(rule, *o))
        .collect()
}

fn values(values: &[f64]) -> Vec<Observation> {
    values.iter().map(|v| Observation::Value(*v)).collect()
}

const fn t(from: State, to: State) -> Transition {
    Transition { from, to }
}

#[test]
fn a_disk_fills_up_and_is_cleaned() {
    // Warning above 80 %, error above 90 %, two cycles to count, recovery
    // 5 points below the bound.
    let rule = Rule {
        warning: Some(Range::Above(80.0)),
        error: Some(Range::Above(90.0)),
        trigger_after: 2,
        recover_after: 2,
        hysteresis: 5.0,
    };
    rule.check().expect("valid");
    let mut tracker = Tracker::default();
    // One cycle above 80 is a blip; two count.
    assert_eq!(
        run(&rule, &mut tracker, &values(&[79.0, 81.0, 79.0, 81.0])),
        []
    );
    assert_eq!(
        run(&rule, &mut tracker, &values(&[82.0])),
        [t(State::Ok, State::Warning)]
    );
    // Hovering around 80 inside the margin: no flapping.
    assert_eq!(
        run(
            &rule,
            &mut tracker,
            &values(&[79.0, 78.0, 80.5, 76.0, 79.9])
        ),
        []
    );
    assert_eq!(
        run(&rule, &mut tracker, &values(&[91.0, 92.0, 88.0, 86.0])),
        [t(State::Warning, State::Error)]
    );
    // Below 85 leaves the error, into the warning's margin: a warning.
    assert_eq!(
        run(&rule, &mut tracker, &values(&[84.0, 77.0])),
        [t(State::Error, State::Warning)]
    );
    assert_eq!(
        run(&rule, &mut tracker, &values(&[74.0, 60.0])),
        [t(State::Warning, State::Ok)]
    );
    // The command stops producing the variable, then comes back.
    assert_eq!(
        run(
            &rule,
            &mut tracker,
            &[Observation::Missing, Observation::Missing]
        ),
        [t(State::Ok, State::NoData)]
    );
    assert_eq!(
        run(&rule, &mut tracker, &values(&[50.0, 50.0])),
        [t(State::NoData, State::Ok)]
    );
    // A silent host counts at once: its silence was already timed.
    assert_eq!(
        run(&rule, &mut tracker, &[Observation::HostSilent]),
        [t(State::Ok, State::Silent)]
    );
    assert_eq!(
        run(&rule, &mut tracker, &values(&[95.0, 95.0])),
        [t(State::Silent, State::Error)]
    );
}

#[test]
fn outside_and_below_ranges() {
    // A temperature that must stay within [10, 30]; an error below 0.
    let rule = Rule {
        warning: Some(Range::Outside(10.0, 30.0)),
        error: Some(Range::Below(0.0)),
        hysteresis: 1.0,
        ..Rule::default()
    };
    let mut tracker = Tracker::default();
    let got = run(
        &rule,
        &mut tracker,
        &values(&[20.0, 30.0, 30.5, 29.5, 28.9, -0.5, 0.5, 1.5]),
    );
    assert_eq!(
        got,
        [
            t(State::Ok, State::Warning),    // 30.5
            t(State::Warning, State::Ok),    // 28.9: past the 1-degree margin
            t(State::Ok, State::Error),      // -0.5
            t(State::Error, State::Warning), // 1.5: out of the error margin, below 10
        ]
    );
}

fn range() -> impl Strategy<Value = Range> {
    let x = -100.0..100.0f64;
    prop_oneof![
        x.clone().prop_map(Range::Above),
        x.clone().prop_map(Range::Below),
        (x.clone(), 0.0..50.0f64).prop_map(|(a, w)| Range::Outside(a, a + w)),
        (x, 0.0..50.0f64).prop_map(|(a, w)| Range::Inside(a, a + w)),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::option::of(range()),
        prop::option::of(range()),
        1..5u32,
        1..5u32,
        0.0..10.0f64,
    )
        .prop_map(
            |(warning, error, trigger_after, recover_after, hysteresis)| Rule {
                warning,
                error,
                trigger_after,
                recover_after,
                hysteresis,
            },
        )
}

fn observation() -> impl Strategy<Value = Observation> {
    prop_oneof![
        8 => (-150.0..150.0f64).prop_map(Observation::Value),
        1 => Just(Observation::Missing),
        1 => Just(Observation::HostSilent),
    ]
}

proptest! {
    /// Transitions chain without a gap: each starts where the last ended,
    /// none stays put, and the tracker ends where the last one went.
    #[test]
    fn no_transition_is_lost(rule in rule(), observations in prop::collection::vec(observation(), 0..200)) {
        let mut tracker = Tracker::default();
        let transitions = run(&rule, &mut tracker, &observations);
        let mut state = State::Ok;
        for transition in &transitions {
            prop_assert_eq!(transition.from, state);
            prop_assert_ne!(transition.from, transition.to);
            state = transition.to;
        }
        prop_assert_eq!(tracker.state, state);
    }

    /// Whatever came before, a value that means the same in every state,
    /// held for as many cycles as the rule asks, is where the tracker ends.
    #[test]
    fn a_held_value_always_wins(
        rule in rule(),
        before in prop::collection::vec(observation(), 0..100),
        value in -150.0..150.0f64,
    ) {
        let states = [State::Ok, State::Warning, State::Error, State::NoData, State::Silent];
        let level = rule.judge(value, State::Ok);
        prop_assume!(states.iter().all(|s| rule.judge(value, *s) == level));
        let mut tracker = Tracker::default();
        run(&rule, &mut tracker, &before);
        let held = rule.trigger_after.max(rule.recover_after) as usize;
        run(&rule, &mut tracker, &vec![Observation::Value(value); held]);
        prop_assert_eq!(tracker.state, level);
    }

    /// Once in a warning, noise that stays inside the hysteresis band
    /// around the bound never makes the state flap.
    #[test]
    fn noise_inside_the_band_does_not_flap(
        bound in -100.0..100.0f64,
        hysteresis in 0.5..10.0f64,
        trigger_after in 1..4u32,
        noise in prop::collection::vec(-0.999..0.999f64, 1..200),
        above in any::<bool>(),
    ) {
        let (warning, into) = if above {
            (Range::Above(bound), bound + 1.0)
        } else {
            (Range::Below(bound), bound - 1.0)
        };
        let rule = Rule { warning: Some(warning), trigger_after, recover_after: 1, hysteresis, ..Rule::default() };
        let mut tracker = Tracker::default();
        run(&rule, &mut tracker, &vec![Observation::Value(into); trigger_after as usize]);
        prop_assert_eq!(tracker.state, State::Warning);
        let band: Vec<Observation> = noise.iter().map(|n| Observation::Value(bound + n * hysteresis)).collect();
        prop_assert_eq!(run(&rule, &mut tracker, &band), vec![]);
    }
}
