// The IPC contract: every command the web view may call, declared once.
//
// One line per command: `module::name [injected] (arguments) -> result`.
// - `module` is the file in src-tauri/src/commands/ holding the `#[tauri::command]` function;
// - `[injected]` are the parameters Tauri fills in itself (`state`: `State<AppState>`, `app`:
//   `AppHandle`), in the function's order, before the arguments;
// - the arguments are those the web view sends, in the function's order, by their Rust names
//   (Tauri expects them camelCased: `segment_id` → `segmentId`);
// - the result is the `Ok` type of the function's `CmdResult`.
//
// Everything else follows from this table (the "callback macro" pattern of Yaak's
// yaak-rpc-schema: `with_commands!(m)` hands the whole table to the macro `m`):
// - `tauri::generate_handler![…]` (lib.rs, `invoke_handler!`);
// - the app manifest and the `app-commands` permission set granted by
//   src-tauri/capabilities/default.json (src-tauri/build.rs `include!`s this file);
// - `commands::COMMANDS` and the compile-time check that each function takes and returns
//   the types written here (commands/mod.rs); a unit test compares the parameter names;
// - ui/src/bindings/Commands.ts, the TypeScript schema `ui/src/api.ts` calls through
//   (written by `cargo test`, commands/schema.rs).
//
// To add a command: write the function in its module, add its line here, add its wrapper to
// ui/src/api.ts, run `cargo test -p segport` and commit the regenerated Commands.ts.
//
// This file holds the table only (no `//!` comments, no `use`): build.rs includes it and
// compiles it without any of the app's crates, so the types here are only tokens there.

/// Hands the table of commands to `$callback!`, one `module::name [injected] (args) -> result`
/// entry per command, comma-separated.
macro_rules! with_commands {
    ($callback:ident) => {
        $callback! {
            app::app_info [state] () -> AppInfo,
            app::start_demo [state] () -> DemoInfo,

            settings::get_settings [state] () -> Settings,
            settings::save_settings [state] (input: SettingsInput) -> Settings,
            settings::open_logs_folder [app, state] () -> (),

            connections::list_connections [state] () -> Vec<ConnectionView>,
            connections::save_connection [state] (input: ConnectionInput) -> ConnectionView,
            connections::delete_connection [state] (id: String) -> (),
            connections::verify_connection [state] (id: String) -> ConnectionView,

            exports::list_exports [state] () -> Vec<ExportView>,
            exports::save_export [state] (input: ExportInput) -> ExportView,
            exports::delete_export [state] (id: String) -> (),
            exports::suggest_mapping [state] (segment_id: String) -> MappingSuggestion,
            exports::preview_mapping [state] (segment_id: String, mapping: Mapping) -> MappingPreview,
            exports::list_klaviyo_lists [state] (connection_id: String) -> KlaviyoLists,
            exports::create_klaviyo_list [state] (connection_id: String, name: String) -> KlaviyoList,

            sources::pick_source_file [app, state] () -> Option<PickedFile>,
            sources::list_sources [state] () -> Vec<SourceView>,
            sources::inspect_source [state] (id: String) -> SourceView,
            sources::save_source [state] (input: SourceInput) -> SourceView,
            sources::delete_source [state] (id: String) -> (),
            sources::add_file_segment [state] (path: String, kind: SourceKind, table: Option<String>) -> SegmentView,
            sources::list_segments [state] () -> Vec<SegmentView>,
            sources::save_segment [state] (input: SegmentInput) -> SegmentView,
            sources::delete_segment [state] (id: String) -> (),
            sources::preview_segment [state] (source_id: String, filter: Option<Filter>) -> SegmentPreview,
            sources::check_segment_rules [state] (source_id: String, filter: Option<Filter>) -> Vec<RuleProblem>,

            runs::run_export [state] (export_id: String, choice: Option<RunChoice>, on_event: Channel<RunEvent>) -> RunSummary,
            runs::cancel_run [state] (run_id: String) -> bool,
            runs::list_runs [state] (export_id: Option<String>) -> Vec<RunView>,
            runs::run_summary [state] (run_id: String) -> RunSummary,
            runs::save_rejects_csv [app, state] (run_id: String) -> Option<SavedRejects>,
        }
    };
}
