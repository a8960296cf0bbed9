//! Quick side-by-side timing of the interpreter, multipass and lazy on evm-benchmarks files:
//! `cargo run --release -p dtvm-jit --example bench -- <file.json>...`. Times are the median
//! `execute` time of repeated calls (the first call, with compilation, is reported apart).
use dtvm_testkit::{hex, Engine, MockHost};
use std::time::{Duration, Instant};

fn unhex(s: &str) -> Vec<u8> {
    hex(s.trim_start_matches("0x"))
}

fn time(engine: Engine, code: &[u8], input: &[u8], gas: i64) -> (Duration, Duration, i32, i64) {
    let once = || {
        let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
        let t = Instant::now();
        let r = h.run(code, gas, input);
        (t.elapsed(), r.status_code, r.gas_left)
    };
    let (first, status, gas_left) = once();
    let mut runs: Vec<Duration> = Vec::new();
    let budget = Instant::now();
    while runs.len() < 5 || (runs.len() < 200 && budget.elapsed() < Duration::from_secs(2)) {
        runs.push(once().0);
    }
    runs.sort();
    (first, runs[runs.len() / 2], status, gas_left)
}

fn main() {
    dtvm_jit::set_background_threads(0);
    for path in std::env::args().skip(1) {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        for (name, test) in json.as_object().expect("object") {
            let to = test["transaction"]["to"]
                .as_str()
                .expect("to")
                .to_lowercase();
            let pre = test["pre"].as_object().expect("pre");
            let account = pre
                .iter()
                .find(|(a, _)| a.to_lowercase() == to)
                .map(|(_, v)| v)
                .expect("callee in pre");
            let code = unhex(account["code"].as_str().expect("code"));
            let gas = i64::from_str_radix(
                test["transaction"]["gasLimit"][0]
                    .as_str()
                    .expect("gas")
                    .trim_start_matches("0x"),
                16,
            )
            .expect("gas hex");
            for (i, data) in test["transaction"]["data"]
                .as_array()
                .expect("data")
                .iter()
                .enumerate()
            {
                let input = unhex(data.as_str().expect("data"));
                let label = test["_info"]["labels"][i.to_string()]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                let i = time(Engine::Interp, &code, &input, gas);
                let m = time(Engine::Multipass, &code, &input, gas);
                let l = time(Engine::Lazy, &code, &input, gas);
                assert_eq!((i.2, i.3), (m.2, m.3), "{name}/{label}: multipass differs");
                assert_eq!((i.2, i.3), (l.2, l.3), "{name}/{label}: lazy differs");
                let s = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
                println!(
                    "{name}/{label:<12} interp {:>9.1?}  multipass {:>9.1?} (x{:.2}, first {:>8.1?})  \
                     lazy {:>9.1?} (first {:>8.1?})  code {} B, {} segments, {} fallbacks",
                    i.1,
                    m.1,
                    i.1.as_secs_f64() / m.1.as_secs_f64(),
                    m.0,
                    l.1,
                    l.0,
                    code.len(),
                    s.segments,
                    s.fallbacks
                );
            }
        }
    }
}
