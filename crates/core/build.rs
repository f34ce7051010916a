// Compiles the vendored caffe.proto and onnx.proto with protox (pure Rust), generates prost types, and
// keeps caffe.proto's descriptor set for prost-reflect's text-format parser.
use prost::Message;

fn main() {
    println!("cargo:rerun-if-changed=proto/caffe.proto");
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let fds = protox::compile(["caffe.proto"], ["proto"]).expect("proto/caffe.proto compiles");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("caffe.fds"), fds.encode_to_vec()).unwrap();
    prost_build::Config::new().compile_fds(fds).expect("prost codegen");
    let onnx = protox::compile(["onnx.proto"], ["proto"]).expect("proto/onnx.proto compiles");
    prost_build::Config::new().compile_fds(onnx).expect("prost codegen");
}
