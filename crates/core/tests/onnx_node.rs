//! ONNX's own node test suite (tests/data/onnx_node) and older-opset forms checked against onnxruntime
//! (tests/data/onnx_opsets), run through the ONNX reader and the engine. Generator:
//! tests/reference/onnx_node_tests.py.
//!
//! Each case is loaded with every graph input fed at run time; when the reader needs some of them constant
//! (weights, shapes, scales), the inputs after the first are bound as initializers and it is loaded again.
//! Every output must match numpy's allclose with the case's rtol and atol.

mod onnx_cases;
use onnx_cases::{data_dir, load_case, manifest, npy_values, read};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use zfvis_core::engine;
use zfvis_core::formats::onnx;

/// Cases of the node suite expected to fail, each with why.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    ("test_averagepool_1d_default", "1-D pooling: zfvis pools 2-D maps (refused clearly)"),
    ("test_maxpool_1d_default", "1-D pooling: zfvis pools 2-D maps (refused clearly)"),
    ("test_averagepool_3d_dilations_small", "3-D pooling: zfvis pools 2-D maps (refused clearly)"),
    ("test_maxpool_3d_dilations", "3-D pooling: zfvis pools 2-D maps (refused clearly)"),
    ("test_maxpool_3d_dilations_use_ref_impl", "3-D pooling: zfvis pools 2-D maps (refused clearly)"),
    ("test_batchnorm_example_training_mode", "training mode (batch statistics, running averages): refused"),
    ("test_batchnorm_epsilon_training_mode", "training mode (batch statistics, running averages): refused"),
    ("test_training_dropout", "training-mode dropout is random: refused unless its ratio is 0"),
    ("test_training_dropout_default", "training-mode dropout is random: refused unless its ratio is 0"),
    ("test_training_dropout_default_mask", "training-mode dropout is random: refused unless its ratio is 0"),
    ("test_training_dropout_mask", "training-mode dropout is random: refused unless its ratio is 0"),
    ("test_div_int8", "integer division truncates; the engine computes in float32"),
    ("test_div_int16", "integer division truncates; the engine computes in float32"),
    ("test_div_int32_trunc", "integer division truncates; the engine computes in float32"),
    ("test_div_uint8", "integer division truncates; the engine computes in float32"),
    ("test_div_uint16", "integer division truncates; the engine computes in float32"),
    ("test_div_uint32", "integer division truncates; the engine computes in float32"),
    ("test_div_uint64", "integer division truncates; the engine computes in float32"),
    ("test_constant", "a graph with no input to feed: nothing to visualize (refused clearly)"),
    ("test_reshape_allowzero_reordered", "zero-size tensors: a declared 0 dimension reads as dynamic (refused)"),
    (
        "test_maxpool_with_argmax_2d_precomputed_strides",
        "column-major Indices (storage_order = 1), which only MaxUnpool reads: refused",
    ),
];

/// Loads and runs one case; Err says what went wrong.
fn run_case(dir: &Path, rtol: f64, atol: f64) -> Result<(), String> {
    let case = load_case(dir)?;
    let g = &case.model.graph;
    let acts = engine::forward(g, case.feeds).map_err(|e| format!("forward: {e}"))?;
    for (k, name) in case.outputs.iter().enumerate() {
        let (shape, want) = npy_values(&dir.join(format!("output_{k}.npy")));
        let got = acts.get(g, name).ok_or_else(|| format!("output '{name}' is not computed"))?;
        if got.shape() != shape.as_slice() {
            return Err(format!("output '{name}': shape {:?}, expected {shape:?}", got.shape()));
        }
        // numpy's allclose: |a − b| ≤ atol + rtol·|b|, NaN never close.
        let worst = got
            .iter()
            .zip(&want)
            .enumerate()
            .map(|(i, (&a, &b))| (i, (a as f64 - b).abs() - (atol + rtol * b.abs())))
            .find(|(_, excess)| excess.is_nan() || *excess > 0.0);
        if let Some((at, _)) = worst {
            let got_at = got.iter().nth(at).unwrap();
            return Err(format!("output '{name}' [{at}]: {got_at}, expected {} (rtol {rtol}, atol {atol})", want[at]));
        }
    }
    Ok(())
}

/// Per operator: (passed, cases, known failures).
type Table = BTreeMap<String, (usize, usize, usize)>;

fn print_table(title: &str, table: &Table) {
    println!("\n{title}\n\n| operator | passed | cases | known failures |\n|---|---|---|---|");
    for (op, (pass, total, known)) in table {
        println!("| {op} | {pass} | {total} | {known} |");
    }
    let (p, t, k) = table.values().fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    println!("| all (a case counts once per operator it uses) | {p} | {t} | {k} |");
}

/// Runs every case of a folder; returns the problems (unexpected failures, stale known failures).
fn run_folder(name: &str, known: &HashMap<&str, &str>, table: &mut Table) -> Vec<String> {
    let dir = data_dir(name);
    let m = manifest(name);
    let mut problems = vec![];
    for (case, entry) in m["cases"].as_object().unwrap() {
        let (rtol, atol) = (entry["rtol"].as_f64().unwrap(), entry["atol"].as_f64().unwrap());
        let path = dir.join(case);
        let result = std::panic::catch_unwind(|| run_case(&path, rtol, atol)).unwrap_or_else(|p| {
            let text = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(format!("panic: {}", text.unwrap_or_default()))
        });
        let expected_failure = known.get(case.as_str());
        for op in entry["ops"].as_array().unwrap() {
            let row = table.entry(op.as_str().unwrap().to_string()).or_default();
            row.1 += 1;
            match (&result, expected_failure) {
                (Ok(()), _) => row.0 += 1,
                (Err(_), Some(_)) => row.2 += 1,
                (Err(_), None) => {}
            }
        }
        match (result, expected_failure) {
            (Ok(()), Some(_)) => problems.push(format!("{case}: passes, but is listed as a known failure")),
            (Err(e), None) => problems.push(format!("{case}: {e}")),
            (Err(e), Some(why)) => println!("known failure {case} ({why}): {e}"),
            (Ok(()), None) => {}
        }
    }
    problems
}

#[test]
fn onnx_node_suite_and_opset_forms() {
    let known: HashMap<&str, &str> = KNOWN_FAILURES.iter().copied().collect();
    let node = manifest("onnx_node");
    for case in known.keys() {
        assert!(node["cases"].get(case).is_some(), "known failure {case} is not in the suite");
    }
    let mut node_table = Table::new();
    let mut problems = run_folder("onnx_node", &known, &mut node_table);
    for (case, entry) in node["skipped"].as_object().unwrap() {
        println!("skipped {case}: {}", entry["reason"].as_str().unwrap());
    }
    // Stored without data: the reader must refuse them with an "unsupported" error.
    for (case, entry) in node["model_only"].as_object().unwrap() {
        let bytes = read(&data_dir("onnx_node").join(case).join("model.onnx"));
        match onnx::load(&bytes) {
            Ok(_) => problems.push(format!("{case}: loads, but is stored without data as out of scope")),
            Err(e) if e.kind == zfvis_core::error::ErrorKind::Unsupported => {
                println!("refused {case} ({}): {e}", entry["reason"].as_str().unwrap());
                for op in entry["ops"].as_array().unwrap() {
                    let row = node_table.entry(op.as_str().unwrap().to_string()).or_default();
                    (row.1, row.2) = (row.1 + 1, row.2 + 1);
                }
            }
            Err(e) => problems.push(format!("{case}: refused, but not as unsupported: {e}")),
        }
    }
    let mut opsets_table = Table::new();
    problems.extend(run_folder("onnx_opsets", &HashMap::new(), &mut opsets_table));
    let opsets = manifest("onnx_opsets");
    for (case, entry) in opsets["refused"].as_object().unwrap() {
        let bytes = read(&data_dir("onnx_opsets").join(case).join("model.onnx"));
        match onnx::load(&bytes) {
            Ok(_) => problems.push(format!("{case}: loads, but must be refused")),
            Err(e) => {
                let missing: Vec<_> = entry["expect"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|s| s.as_str())
                    .filter(|s| !e.message.contains(s))
                    .collect();
                if missing.is_empty() {
                    println!("refused {case}: {e}");
                } else {
                    problems.push(format!("{case}: error lacks {missing:?}: {e}"));
                }
            }
        }
    }
    print_table("ONNX node test suite (onnx 1.23.2)", &node_table);
    print_table("Older opset forms and loader features, against onnxruntime", &opsets_table);
    for op in onnx::SUPPORTED {
        if !node_table.contains_key(*op) && !opsets_table.contains_key(*op) {
            problems.push(format!("operator {op} has no case"));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// A constant moves into the node that reads it last; earlier readers get copies.
#[test]
fn initializers_move_into_their_last_reader() {
    use prost::Message;
    use zfvis_core::formats::onnx::proto;
    // w is read by both convolutions, b by the first only.
    let bytes = read(&data_dir("onnx_opsets").join("conv_shared_weights_asymmetric_pads/model.onnx"));
    let model = proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let mut tensors = HashMap::new();
    for t in &model.graph.as_ref().unwrap().initializer {
        let values: Vec<f32> =
            t.raw_data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        let shape: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        tensors.insert(t.name().to_string(), zfvis_core::ops::tensor(&shape, values));
    }
    let (w, b) = (tensors["w"].as_ptr(), tensors["b"].as_ptr());
    let g = onnx::from_proto(model, tensors).unwrap().graph;
    let convs: Vec<_> = g.nodes.iter().filter(|n| n.type_name == "Conv").collect();
    assert_eq!(convs.len(), 2);
    assert_ne!(convs[0].weights()[0].as_ptr(), w, "the first reader of w gets a copy");
    assert_eq!(convs[0].weights()[1].as_ptr(), b, "b moves into its only reader");
    assert_eq!(convs[1].weights()[0].as_ptr(), w, "w moves into its last reader");
}
