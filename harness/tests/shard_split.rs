//! The split rule, end to end through the library: the shards of a scenario with
//! open- and closed-loop loads (constant and ramping) add up to the scenario.
//! Assertions are about counts, never about wall-clock speed.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::{Scenario, parse_str};
use gauntlet_harness::shard::{Shard, ShardRun};
use gauntlet_reports::RunResult;

const SCENARIO: &str = r#"
name = "split"
seed = 11
duration = "1s"
tick = "250ms"
grace = "5s"
[target]
workload = "synthetic"
delay = "2ms"
[[load]]
name = "steady"
op = "call"
executor = "constant-arrival-rate"
rate = 301
max_in_flight = 16
[[load]]
name = "ramp"
op = "call"
executor = "ramping-arrival-rate"
start_rate = 10
stages = [{ target = 200, duration = "1s" }]
max_in_flight = 8
[[load]]
name = "clients"
op = "call"
executor = "constant-concurrency"
concurrency = 5
duration = "1s"
[[load]]
name = "ramping-clients"
op = "call"
executor = "ramping-concurrency"
start_concurrency = 1
stages = [{ target = 4, duration = "1s" }]
"#;

fn shard_run(scenario: &Scenario, index: u32, count: u32) -> RunResult {
    let shard = Shard::new(u64::from(index), u64::from(count)).unwrap();
    let (own, sharding) = ShardRun::prepare(shard, None, scenario);
    let options = RunOptions {
        shard: Some(sharding),
        ..RunOptions::default()
    };
    run(&own, &options).expect("the shard runs")
}

#[test]
fn three_shards_add_up_to_the_scenario_load_by_load() {
    let scenario = parse_str(SCENARIO, "split.toml").unwrap_or_else(|e| panic!("{e}"));
    let whole = run(&scenario, &RunOptions::default()).unwrap();
    let shards: Vec<RunResult> = (0..3).map(|i| shard_run(&scenario, i, 3)).collect();
    for (j, load) in whole.loads.iter().enumerate() {
        let parts: Vec<_> = shards.iter().map(|s| &s.loads[j]).collect();
        assert!(parts.iter().all(|p| p.name == load.name));
        // Open loop: the shards' schedules are exactly the scenario's.
        if let Some(total) = load.scheduled {
            let sum: u64 = parts.iter().map(|p| p.scheduled.unwrap()).sum();
            assert_eq!(sum, total, "{}: scheduled", load.name);
            let sizes: Vec<u64> = parts.iter().map(|p| p.scheduled.unwrap()).collect();
            assert!(
                sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                "{sizes:?}"
            );
        }
        // Slots and workers add up too (every bound here is at least 3).
        let slots: u64 = parts.iter().map(|p| p.max_in_flight).sum();
        assert_eq!(slots, load.max_in_flight, "{}: in-flight bound", load.name);
    }
    // 301 ops over 3 shards: the remainder op went to one shard; 5 clients: 2 + 2 + 1,
    // the extras on different shards for different loads.
    let steady: Vec<u64> = shards
        .iter()
        .map(|s| s.loads[0].scheduled.unwrap())
        .collect();
    assert_eq!(steady, [101, 100, 100]);
    let clients: Vec<u64> = shards.iter().map(|s| s.loads[2].max_in_flight).collect();
    assert_eq!(clients, [2, 1, 2]);
    // Every shard records itself, with its own seed and the scenario's.
    for (i, s) in shards.iter().enumerate() {
        let info = s.shard.as_ref().unwrap();
        assert_eq!((info.index, info.count), (i as u32, 3));
        assert_eq!(s.scenario.seed, 11);
        assert_ne!(info.seed, 11);
    }
    assert!(whole.shard.is_none());
}

#[test]
fn one_shard_of_one_is_the_scenario_itself() {
    let scenario = parse_str(SCENARIO, "split.toml").unwrap_or_else(|e| panic!("{e}"));
    let one = shard_run(&scenario, 0, 1);
    assert_eq!(one.shard.as_ref().unwrap().seed, 11);
    assert_eq!(one.loads[0].scheduled, Some(301));
    assert_eq!(one.loads[2].max_in_flight, 5);
}
