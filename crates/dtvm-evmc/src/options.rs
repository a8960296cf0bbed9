//! Options and their environment variables: the execution mode (`mode`,
//! `enable_lazy_compile`) and `trace` (`DTVM_EVM_TRACE`), per VM, and the JIT's settings (cache
//! limit, compiler threads, tiered promotion), which are process-wide because the code cache and
//! the compilers are.
//!
//! The mode state is one effective [`Mode`], not a mode plus a separate lazy flag: every accepted
//! `set_option` call sets the mode outright, so the outcome is always that of the last call and
//! never a combination with something set earlier (a `mode=multipass` after
//! `enable_lazy_compile=true` means eager multipass, not lazy).
use ::evmc_vm::sys::{
    evmc_set_option_result, EVMC_SET_OPTION_INVALID_NAME, EVMC_SET_OPTION_INVALID_VALUE,
};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// How a VM runs code. One `match` in the crate root routes each mode to its engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// The interpreter alone, no compilation.
    Interpreter = 0,
    /// Multipass JIT, compiling whole contracts before running them.
    Multipass = 1,
    /// Multipass JIT that compiles lazily (what `enable_lazy_compile=true` selects).
    Lazy = 2,
    /// Interpreter first; contracts that get hot are compiled in the background.
    Tiered = 3,
}

impl Mode {
    /// Every mode, in `repr` order.
    pub const ALL: [Mode; 4] = [Mode::Interpreter, Mode::Multipass, Mode::Lazy, Mode::Tiered];

    /// The mode a VM starts in when neither the environment nor `set_option` chose one: tiered,
    /// because a client's code is mostly run once or rarely, where it costs what the interpreter
    /// costs (any compilation there costs more than it saves), while the few hot contracts get
    /// compiled code (README "Execution modes").
    pub const DEFAULT: Mode = Mode::Tiered;

    /// The mode's `mode` option value (and `DTVM_EVM_MODE` value).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Interpreter => "interpreter",
            Mode::Multipass => "multipass",
            Mode::Lazy => "lazy",
            Mode::Tiered => "tiered",
        }
    }

    /// Parses a `mode` value (ASCII case-insensitive).
    pub fn parse(value: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(value))
    }

    fn from_u8(v: u8) -> Mode {
        match v {
            1 => Mode::Multipass,
            2 => Mode::Lazy,
            3 => Mode::Tiered,
            _ => Mode::Interpreter,
        }
    }
}

/// Parses a boolean option value: `true`/`false`/`1`/`0` (ASCII case-insensitive).
pub fn parse_bool(value: &str) -> Option<bool> {
    if value == "1" || value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value == "0" || value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Why an option was refused; maps one-to-one onto `evmc_set_option_result`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionError {
    /// No option has this name.
    UnknownName,
    /// The value does not parse, or names a mode this build cannot run.
    InvalidValue(String),
}

impl OptionError {
    /// The EVMC result code `set_option` returns for this error.
    pub fn to_evmc(&self) -> evmc_set_option_result {
        match self {
            OptionError::UnknownName => EVMC_SET_OPTION_INVALID_NAME,
            OptionError::InvalidValue(_) => EVMC_SET_OPTION_INVALID_VALUE,
        }
    }
}

/// `mode=interpreter|multipass|lazy|tiered`: sets the VM's mode.
pub const OPTION_MODE: &str = "mode";
/// `enable_lazy_compile=true` selects [`Mode::Lazy`]; `false` turns lazy mode into
/// [`Mode::Multipass`] and leaves any other mode as it is.
pub const OPTION_LAZY: &str = "enable_lazy_compile";
/// `trace=1|0|true|false`: an EIP-3155 trace of every call on the VM's trace sink (stderr unless
/// a Rust host set another). Traced calls run in the interpreter whatever the mode.
pub const OPTION_TRACE: &str = "trace";
/// Whether `name` is an option dtvm knows.
pub fn is_known(name: &str) -> bool {
    matches!(name, OPTION_MODE | OPTION_LAZY | OPTION_TRACE)
        || JIT_SETTINGS.iter().any(|j| j.option == name)
}

/// The environment variable read as the `mode` option when a VM is created.
pub const ENV_MODE: &str = "DTVM_EVM_MODE";
/// The environment variable read as `enable_lazy_compile`, after [`ENV_MODE`].
pub const ENV_LAZY: &str = "DTVM_EVM_LAZY_COMPILE";
/// The environment variable read as the `trace` option.
pub const ENV_TRACE: &str = "DTVM_EVM_TRACE";

/// A process-wide JIT setting: its option name, environment variable and parser.
pub struct JitSetting {
    /// The `set_option` name.
    pub option: &'static str,
    /// The environment variable read when a VM is created.
    pub env: &'static str,
    parse: fn(&str) -> Option<dtvm_jit::Setting>,
}

fn number<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.parse().ok()
}

/// The JIT's settings (see README's options table). `DTVM_EVM_LAZY_BG_THREADS` is also read by
/// the JIT itself when no VM set it.
pub const JIT_SETTINGS: [JitSetting; 8] = {
    use dtvm_jit::Setting::*;
    [
        JitSetting {
            option: "jit_cache_mb",
            env: "DTVM_EVM_JIT_CACHE_MB",
            parse: |v| {
                number::<usize>(v)
                    .and_then(|mb| mb.checked_mul(1 << 20))
                    .map(CacheLimitBytes)
            },
        },
        JitSetting {
            option: "jit_threads",
            env: "DTVM_EVM_LAZY_BG_THREADS",
            parse: |v| number(v).map(Threads),
        },
        JitSetting {
            option: "tiered_hot_us",
            env: "DTVM_EVM_TIERED_HOT_US",
            parse: |v| number(v).map(HotMicros),
        },
        JitSetting {
            option: "tiered_hot_compile_pct",
            env: "DTVM_EVM_TIERED_HOT_COMPILE_PCT",
            parse: |v| number(v).map(HotCompilePercent),
        },
        JitSetting {
            option: "jit_max_pending",
            env: "DTVM_EVM_JIT_MAX_PENDING",
            parse: |v| number(v).map(MaxPending),
        },
        JitSetting {
            option: "jit_max_code_size",
            env: "DTVM_EVM_JIT_MAX_CODE_SIZE",
            parse: |v| number(v).map(MaxCodeSize),
        },
        JitSetting {
            option: "jit_idle_evict_secs",
            env: "DTVM_EVM_JIT_IDLE_EVICT_SECS",
            parse: |v| number(v).map(IdleEvictSecs),
        },
        JitSetting {
            option: "tiered_compile_now",
            env: "DTVM_EVM_TIERED_COMPILE_NOW",
            parse: |v| parse_bool(v).map(CompileNow),
        },
    ]
};

/// Parses a JIT setting given by option name; `Ok(None)` when `name` is not one.
pub fn parse_jit_setting(
    name: &str,
    value: Option<&str>,
) -> Result<Option<dtvm_jit::Setting>, OptionError> {
    let Some(setting) = JIT_SETTINGS.iter().find(|j| j.option == name) else {
        return Ok(None);
    };
    parse_value(name, value, setting.parse).map(Some)
}

/// Applies the JIT settings found in the environment (`get` reads a variable); a bad value is
/// reported through `warn` and skipped.
pub fn jit_settings_from_env(
    get: &dyn Fn(&str) -> Option<std::ffi::OsString>,
    warn: &mut dyn FnMut(String),
) {
    for setting in &JIT_SETTINGS {
        let Some(value) = get(setting.env) else {
            continue;
        };
        match value.to_str().and_then(|v| (setting.parse)(v.trim())) {
            Some(s) => dtvm_jit::configure(s),
            None => warn(format!(
                "ignoring {}={value:?}: not a valid value",
                setting.env
            )),
        }
    }
}

/// Per-VM options. `execute` may run on other threads while a host calls `set_option`, so the
/// mode lives in an atomic; a call that is already running keeps the mode it started with.
#[derive(Debug)]
pub struct Options {
    mode: AtomicU8,
    trace: AtomicBool,
}

impl Default for Options {
    fn default() -> Self {
        Self::new(Mode::DEFAULT)
    }
}

impl Options {
    /// Options starting in `mode`, with tracing off.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode: AtomicU8::new(mode as u8),
            trace: AtomicBool::new(false),
        }
    }

    /// The current mode; a call reads it once when it starts.
    pub fn mode(&self) -> Mode {
        // Relaxed: the mode guards no other data; a racing execute sees the old or new mode.
        Mode::from_u8(self.mode.load(Ordering::Relaxed))
    }

    /// Whether calls are traced (the `trace` option).
    pub fn trace(&self) -> bool {
        // Relaxed: as for the mode; a running call keeps the setting it started with.
        self.trace.load(Ordering::Relaxed)
    }

    /// Applies one option. `value` is `None` when the host passed NULL. On error nothing changes.
    /// A JIT setting applies to the whole process.
    pub fn set(&self, name: &str, value: Option<&str>) -> Result<(), OptionError> {
        if name == OPTION_TRACE {
            let on = parse_value(name, value, parse_bool)?;
            self.trace.store(on, Ordering::Relaxed);
            return Ok(());
        }
        if let Some(setting) = parse_jit_setting(name, value)? {
            dtvm_jit::configure(setting);
            return Ok(());
        }
        self.apply(Transition::parse(name, value)?)
    }

    /// Reads `DTVM_EVM_MODE` then `DTVM_EVM_LAZY_COMPILE` (a fixed order, so lazy=true in the
    /// environment wins over a mode there), and the JIT settings' variables. A bad value is
    /// reported and skipped. `DTVM_EVM_TRACE` is read too (a bad value is reported and tracing
    /// stays off).
    pub fn from_env() -> Self {
        jit_settings_from_env(&|name| std::env::var_os(name), &mut |msg| warn(&msg));
        let options = Self::from_env_values(
            std::env::var_os(ENV_MODE).as_deref(),
            std::env::var_os(ENV_LAZY).as_deref(),
            &mut |msg| warn(&msg),
        );
        if let Some(value) = std::env::var_os(ENV_TRACE) {
            if options.set(OPTION_TRACE, value.to_str()).is_err() {
                warn(&format!(
                    "ignoring {ENV_TRACE}={value:?}: expected 1, 0, true or false"
                ));
            }
        }
        options
    }

    /// [`from_env`](Self::from_env) with the values given, so it can be tested without touching
    /// the process environment (which other threads may be reading).
    pub fn from_env_values(
        mode: Option<&std::ffi::OsStr>,
        lazy: Option<&std::ffi::OsStr>,
        warn: &mut dyn FnMut(String),
    ) -> Self {
        let options = Options::default();
        for (var, option, value) in [(ENV_MODE, OPTION_MODE, mode), (ENV_LAZY, OPTION_LAZY, lazy)] {
            let Some(value) = value else { continue };
            let result = match value.to_str() {
                Some(v) => options.set(option, Some(v)),
                None => Err(OptionError::InvalidValue("not valid UTF-8".into())),
            };
            if let Err(OptionError::InvalidValue(why)) = result {
                warn(format!(
                    "ignoring {var}={value:?}: {why}; keeping mode {}",
                    options.mode().name()
                ));
            }
        }
        options
    }

    fn apply(&self, transition: Transition) -> Result<(), OptionError> {
        // A CAS loop because `LazyOff` depends on the current mode and two threads may set
        // options at once; each call then acts on the mode the other left.
        let mut current = self.mode();
        loop {
            let next = transition.next(current);
            match self.mode.compare_exchange_weak(
                current as u8,
                next as u8,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = Mode::from_u8(actual),
            }
        }
    }
}

/// What an accepted option does to the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transition {
    To(Mode),
    LazyOff,
}

impl Transition {
    fn parse(name: &str, value: Option<&str>) -> Result<Transition, OptionError> {
        match name {
            OPTION_MODE => Ok(Transition::To(parse_value(name, value, Mode::parse)?)),
            OPTION_LAZY => Ok(if parse_value(name, value, parse_bool)? {
                Transition::To(Mode::Lazy)
            } else {
                Transition::LazyOff
            }),
            _ => Err(OptionError::UnknownName),
        }
    }

    fn next(self, current: Mode) -> Mode {
        match self {
            Transition::To(mode) => mode,
            // Turning lazy compilation off keeps the JIT but compiles eagerly; outside lazy mode
            // there is nothing to turn off (it must not switch an interpreter VM to a JIT).
            Transition::LazyOff if current == Mode::Lazy => Mode::Multipass,
            Transition::LazyOff => current,
        }
    }
}

fn parse_value<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, OptionError> {
    let value = value.ok_or_else(|| OptionError::InvalidValue(format!("{name} needs a value")))?;
    parse(value).ok_or_else(|| OptionError::InvalidValue(format!("bad value {value:?} for {name}")))
}

/// Reports a configuration problem. Through `tracing` when the process installed a subscriber
/// (Rust hosts); otherwise on stderr, because a C host has no subscriber and a silently ignored
/// setting is worse than a line of noise.
pub fn warn(msg: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: "dtvm", "{msg}");
    } else {
        eprintln!("dtvm: warning: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn env(mode: Option<&str>, lazy: Option<&str>) -> (Mode, Vec<String>) {
        let mut warnings = Vec::new();
        let opts = Options::from_env_values(mode.map(OsStr::new), lazy.map(OsStr::new), &mut |w| {
            warnings.push(w)
        });
        (opts.mode(), warnings)
    }

    #[test]
    fn mode_values() {
        let o = Options::default();
        assert_eq!(o.mode(), Mode::DEFAULT);
        assert_eq!(o.set("mode", Some("interpreter")), Ok(()));
        assert_eq!(o.set("mode", Some("Interpreter")), Ok(()));
        assert_eq!(o.set("mode", Some("TIERED")), Ok(()));
        assert_eq!(o.mode(), Mode::Tiered);
        assert_eq!(o.set("mode", Some("interpreter")), Ok(()));
        for bad in ["", "interp", "jit", " interpreter", "interpreter\n"] {
            assert!(matches!(
                o.set("mode", Some(bad)),
                Err(OptionError::InvalidValue(_))
            ));
        }
        assert!(matches!(
            o.set("mode", None),
            Err(OptionError::InvalidValue(_))
        ));
        assert_eq!(o.mode(), Mode::Interpreter);
    }

    #[test]
    fn lazy_flag_values() {
        let o = Options::default();
        for v in ["false", "0", "FALSE"] {
            assert_eq!(o.set("enable_lazy_compile", Some(v)), Ok(()), "{v}");
            assert_eq!(o.mode(), Mode::DEFAULT, "lazy=false changes only lazy mode");
        }
        for bad in ["", "yes", "2", "on"] {
            assert!(matches!(
                o.set("enable_lazy_compile", Some(bad)),
                Err(OptionError::InvalidValue(_))
            ));
        }
        assert!(matches!(
            o.set("enable_lazy_compile", None),
            Err(OptionError::InvalidValue(_))
        ));
    }

    #[test]
    fn trace_values() {
        let o = Options::default();
        assert!(!o.trace());
        for (v, on) in [("1", true), ("0", false), ("TRUE", true), ("False", false)] {
            assert_eq!(o.set("trace", Some(v)), Ok(()), "{v}");
            assert_eq!(o.trace(), on, "{v}");
        }
        o.set("trace", Some("true")).unwrap();
        for bad in ["", "yes", "2"] {
            assert!(matches!(
                o.set("trace", Some(bad)),
                Err(OptionError::InvalidValue(_))
            ));
        }
        assert!(o.set("trace", None).is_err());
        assert!(o.trace(), "a refused value changes nothing");
        assert_eq!(o.mode(), Mode::DEFAULT, "trace is not a mode");
    }

    #[test]
    fn jit_setting_values() {
        use dtvm_jit::Setting;
        assert_eq!(
            parse_jit_setting("jit_cache_mb", Some("64")),
            Ok(Some(Setting::CacheLimitBytes(64 << 20)))
        );
        assert_eq!(
            parse_jit_setting("tiered_compile_now", Some("TRUE")),
            Ok(Some(Setting::CompileNow(true)))
        );
        assert_eq!(
            parse_jit_setting("jit_threads", Some("0")),
            Ok(Some(Setting::Threads(0)))
        );
        assert_eq!(parse_jit_setting("mode", Some("1")), Ok(None));
        for (name, bad) in [
            ("jit_cache_mb", "-1"),
            ("jit_cache_mb", "99999999999999999999"),
            ("tiered_hot_us", "lots"),
            ("jit_max_code_size", ""),
            ("tiered_compile_now", "2"),
        ] {
            assert!(
                matches!(
                    parse_jit_setting(name, Some(bad)),
                    Err(OptionError::InvalidValue(_))
                ),
                "{name}={bad}"
            );
        }
        assert!(JIT_SETTINGS.iter().all(|j| is_known(j.option)));
        let mut warnings = Vec::new();
        jit_settings_from_env(
            &|name| (name == "DTVM_EVM_JIT_MAX_PENDING").then(|| "many".into()),
            &mut |w| warnings.push(w),
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("DTVM_EVM_JIT_MAX_PENDING"));
    }

    #[test]
    fn unknown_names() {
        let o = Options::default();
        for name in ["", "Mode", "verbose", "enable_lazy_compile "] {
            assert_eq!(o.set(name, Some("1")), Err(OptionError::UnknownName));
            assert_eq!(o.set(name, None), Err(OptionError::UnknownName));
        }
    }

    /// The transition rules, independent of which engines this build has (availability is
    /// checked after the transition, in `apply`).
    #[test]
    fn last_call_wins() {
        fn run(calls: &[(&str, &str)]) -> Mode {
            calls.iter().fold(Mode::DEFAULT, |mode, &(name, value)| {
                Transition::parse(name, Some(value)).unwrap().next(mode)
            })
        }
        let lazy = ("enable_lazy_compile", "true");
        let no_lazy = ("enable_lazy_compile", "0");
        let multi = ("mode", "multipass");
        let interp = ("mode", "interpreter");
        assert_eq!(run(&[lazy, multi]), Mode::Multipass);
        assert_eq!(run(&[multi, lazy]), Mode::Lazy);
        assert_eq!(run(&[lazy, interp]), Mode::Interpreter);
        assert_eq!(run(&[interp, lazy]), Mode::Lazy);
        assert_eq!(run(&[lazy, no_lazy]), Mode::Multipass);
        assert_eq!(run(&[interp, no_lazy]), Mode::Interpreter);
        assert_eq!(run(&[multi, no_lazy]), Mode::Multipass);
        assert_eq!(run(&[lazy, interp, multi]), Mode::Multipass);
        assert_eq!(run(&[("mode", "lazy"), no_lazy]), Mode::Multipass);
    }

    #[test]
    fn env_defaults_and_overrides() {
        assert_eq!(env(None, None), (Mode::DEFAULT, vec![]));
        assert_eq!(env(Some("interpreter"), None), (Mode::Interpreter, vec![]));
        assert_eq!(
            env(Some("INTERPRETER"), Some("0")),
            (Mode::Interpreter, vec![])
        );
    }

    #[test]
    fn bad_env_warns_and_keeps_default() {
        let (mode, w) = env(Some("turbo"), None);
        assert_eq!(mode, Mode::DEFAULT);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("DTVM_EVM_MODE") && w[0].contains("turbo"),
            "{w:?}"
        );

        let (mode, w) = env(None, Some("maybe"));
        assert_eq!(mode, Mode::DEFAULT);
        assert!(w[0].contains("DTVM_EVM_LAZY_COMPILE"), "{w:?}");

        // Both bad: both reported.
        assert_eq!(env(Some(""), Some("")).1.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_env_warns() {
        use std::os::unix::ffi::OsStrExt;
        let mut warnings = Vec::new();
        let o = Options::from_env_values(Some(OsStr::from_bytes(b"\xff")), None, &mut |w| {
            warnings.push(w)
        });
        assert_eq!(o.mode(), Mode::DEFAULT);
        assert_eq!(warnings.len(), 1);
    }
}
