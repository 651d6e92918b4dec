fn main() {
    // Capabilities live in src-tauri/capabilities/ (the default would be <root>/capabilities/).
    let attrs =
        tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*");
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build script failed: {e:#}");
    }
}
