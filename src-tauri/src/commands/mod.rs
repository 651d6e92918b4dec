//! Thin commands: each parses its input, calls `segport-core`, maps the error.
//!
//! Every command that reads a file, the database or the keychain is `async` (or
//! `#[tauri::command(async)]`): a plain command runs on the main thread and would freeze the
//! window while it waits (a slow drive, the CLI holding the database's write lock, D-Bus).
//!
//! The commands are declared once, in `registry.rs` (the IPC contract); everything that lists
//! them follows from that table.

#[macro_use]
mod registry;

pub mod app;
pub mod connections;
pub mod exports;
pub mod runs;
pub mod settings;
pub mod sources;

#[cfg(test)]
mod schema;

use segport_core::model::ErrorPayload;

pub type CmdResult<T> = Result<T, ErrorPayload>;

pub(crate) fn err(e: segport_core::CoreError) -> ErrorPayload {
    ErrorPayload::from(&e)
}

/// The types the table in `registry.rs` names, for the macros below (and `schema.rs`) that
/// expand it.
#[allow(unused_imports)]
pub(crate) mod types {
    pub use super::runs::{RunChoice, SavedRejects};
    pub use super::settings::{Settings, SettingsInput};
    pub use segport_core::catalog::MappingSuggestion;
    pub use segport_core::filter::{Filter, RuleProblem};
    pub use segport_core::model::{
        AppInfo, ConnectionInput, ConnectionView, DemoInfo, ExportInput, ExportView, KlaviyoList,
        KlaviyoLists, Mapping, MappingPreview, PickedFile, RunEvent, RunSummary, RunView,
        SegmentInput, SegmentPreview, SegmentView, SourceInput, SourceKind, SourceView,
    };
    pub use tauri::ipc::Channel;
}

macro_rules! command_names {
    ($( $module:ident :: $name:ident [$($ctx:ident),*] ($($arg:ident : $ty:ty),* $(,)?) -> $res:ty ),* $(,)?) => {
        /// Every command's name, in the order of the table in `registry.rs` (the same names
        /// `generate_handler!` registers and the build script puts in the app manifest).
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
with_commands!(command_names);

// ---- the table's types checked by the compiler ----------------------------------------
//
// `signatures_match_the_table` (never called) calls every command function with a value of
// each type the table names and asks for the table's result: a function whose argument count,
// argument types or result differ from its line does not compile. Only the parameter *names*
// (which Tauri matches the web view's keys against) are beyond the compiler: the unit test
// `the_tables_argument_names_are_the_functions` below reads them from the sources.

/// A value of any type, for the type check only (never run).
#[allow(dead_code)]
fn any<T>() -> T {
    unreachable!("the signature check is compiled, never called")
}

/// Sync commands return `CmdResult<T>`, async ones a future of it: the marker `M` lets one
/// check accept both without the two impls overlapping.
#[allow(dead_code)]
trait Returns<T, M> {}
#[allow(dead_code)]
struct Now;
#[allow(dead_code)]
struct Later;
impl<T> Returns<T, Now> for CmdResult<T> {}
impl<T, F: std::future::Future<Output = CmdResult<T>>> Returns<T, Later> for F {}

#[allow(dead_code)]
fn returns<T, M, X: Returns<T, M>>(_: &X) {}

/// What Tauri injects for the table's `[state]` / `[app]`.
macro_rules! injected {
    (state) => {
        any::<tauri::State<'_, crate::AppState>>()
    };
    (app) => {
        any::<tauri::AppHandle<R>>()
    };
}

macro_rules! check_signatures {
    ($( $module:ident :: $name:ident [$($ctx:ident),*] ($($arg:ident : $ty:ty),* $(,)?) -> $res:ty ),* $(,)?) => {
        #[allow(dead_code, unreachable_code, clippy::diverging_sub_expression)]
        fn signatures_match_the_table<R: tauri::Runtime>() {
            use types::*;
            $(
                returns::<$res, _, _>(&$module::$name($(injected!($ctx),)* $(any::<$ty>()),*));
            )*
        }
    };
}
with_commands!(check_signatures);

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// One command's line of the table: name, module, injected and argument names.
    struct Line {
        module: &'static str,
        name: &'static str,
        params: Vec<&'static str>,
    }

    macro_rules! lines {
        ($( $module:ident :: $name:ident [$($ctx:ident),*] ($($arg:ident : $ty:ty),* $(,)?) -> $res:ty ),* $(,)?) => {
            vec![$(Line {
                module: stringify!($module),
                name: stringify!($name),
                params: vec![$(stringify!($ctx),)* $(stringify!($arg)),*],
            }),*]
        };
    }

    /// The parameter names of `fn name` in `source`, in order.
    fn parameter_names(source: &str, name: &str) -> Option<Vec<String>> {
        let start = [format!("fn {name}("), format!("fn {name}<")]
            .iter()
            .find_map(|pat| source.find(pat.as_str()))?;
        let rest = &source[start..];
        let open = rest.find('(')?;
        // The parameter list ends at the `)` that closes the first `(` (types hold `<…>` only).
        let mut depth = 0usize;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let params = &rest[open + 1..close?];
        let mut names = Vec::new();
        let mut angle = 0i32;
        let mut current = String::new();
        for c in params.chars().chain(std::iter::once(',')) {
            match c {
                '<' => angle += 1,
                '>' => angle -= 1,
                ',' if angle == 0 => {
                    if let Some((n, _)) = current.split_once(':') {
                        names.push(n.trim().trim_start_matches("mut ").to_string());
                    }
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        Some(names)
    }

    #[test]
    fn the_tables_argument_names_are_the_functions() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/src/commands");
        let lines: Vec<Line> = with_commands!(lines);
        assert_eq!(lines.len(), super::COMMANDS.len());
        for line in lines {
            let path = dir.join(format!("{}.rs", line.module));
            let source = std::fs::read_to_string(&path).unwrap();
            let found = parameter_names(&source, line.name)
                .unwrap_or_else(|| panic!("no fn {} in {}", line.name, path.display()));
            assert_eq!(
                found, line.params,
                "{}::{}: registry.rs names its parameters differently from the function \
                 (Tauri matches the web view's keys against the function's names)",
                line.module, line.name
            );
        }
    }

    #[test]
    fn every_command_is_listed_once() {
        let mut names = super::COMMANDS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::COMMANDS.len());
    }
}
