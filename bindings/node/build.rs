//! Links the addon as a Node.js module (N-API symbols are resolved by the host process).

fn main() {
    napi_build::setup();
}
