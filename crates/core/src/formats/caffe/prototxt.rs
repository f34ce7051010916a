//! Net definitions: the text prototxt, V1 (`layers {}` with enum types) upgraded to V2 (`layer {}`),
//! and the phase rules that pick a net's TEST layers.

use super::proto::{
    v1_layer_parameter::LayerType, LayerParameter, NetParameter, NetStateRule, Phase, V1LayerParameter, DESCRIPTORS,
};
use crate::{bail, Error, Result};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

/// Parses a text prototxt.
pub fn parse_text(bytes: &[u8]) -> Result<NetParameter> {
    if let Some(kind) = crate::formats::sniff::other_kind(bytes) {
        bail!(format, "the net definition is {kind}, not a .prototxt");
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::format(
            "the net definition is binary data, not a text .prototxt (was a .caffemodel given as the prototxt?)",
        )
    })?;
    parse_message(text, "caffe.NetParameter", "the .prototxt")
}

/// Parses protobuf text of the caffe.proto message `name` (`what` names the file in errors).
pub(crate) fn parse_message<M: prost::Message + Default>(text: &str, name: &str, what: &str) -> Result<M> {
    if text.trim().is_empty() {
        bail!(format, "{what} is empty");
    }
    // Decoding caffe.proto's descriptors costs far more than parsing a small net: done once.
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTORS).expect("embedded caffe.proto descriptors"));
    let desc = pool.get_message_by_name(name).expect("a caffe.proto message");
    let msg = DynamicMessage::parse_text_format(desc, text)
        .map_err(|e| Error::format(format!("{what} has a syntax error: {}", describe_text_error(text, &e))))?;
    msg.transcode_to::<M>().map_err(|e| Error::format(format!("{what} could not be read: {e}")))
}

/// Parses a binary NetParameter (the layer definitions inside a .caffemodel).
pub fn parse_binary(bytes: &[u8]) -> Result<NetParameter> {
    NetParameter::decode(bytes).map_err(|e| Error::format(format!("not a binary Caffe net: {e}")))
}

/// The net's layers in V2 form, whichever form the file used.
pub fn layers(net: &NetParameter) -> Result<(Vec<LayerParameter>, bool)> {
    if !net.layer.is_empty() && !net.layers.is_empty() {
        bail!(format, "the net mixes `layer` (V2) and `layers` (V1) definitions");
    }
    if net.layers.is_empty() {
        return Ok((net.layer.clone(), false));
    }
    let v2 = net.layers.iter().map(upgrade_v1).collect::<Result<Vec<_>>>()?;
    Ok((v2, true))
}

/// Caffe's name for each V1 enum type.
fn v1_type_name(t: LayerType) -> Option<&'static str> {
    use LayerType::*;
    Some(match t {
        LayerType::None => return Option::None,
        Absval => "AbsVal",
        Accuracy => "Accuracy",
        Argmax => "ArgMax",
        Bnll => "BNLL",
        Concat => "Concat",
        ContrastiveLoss => "ContrastiveLoss",
        Convolution => "Convolution",
        Data => "Data",
        Deconvolution => "Deconvolution",
        Dropout => "Dropout",
        DummyData => "DummyData",
        EuclideanLoss => "EuclideanLoss",
        Eltwise => "Eltwise",
        Exp => "Exp",
        Flatten => "Flatten",
        Hdf5Data => "HDF5Data",
        Hdf5Output => "HDF5Output",
        HingeLoss => "HingeLoss",
        Im2col => "Im2col",
        ImageData => "ImageData",
        InfogainLoss => "InfogainLoss",
        InnerProduct => "InnerProduct",
        Lrn => "LRN",
        MemoryData => "MemoryData",
        MultinomialLogisticLoss => "MultinomialLogisticLoss",
        Mvn => "MVN",
        Pooling => "Pooling",
        Power => "Power",
        Relu => "ReLU",
        Sigmoid => "Sigmoid",
        SigmoidCrossEntropyLoss => "SigmoidCrossEntropyLoss",
        Silence => "Silence",
        Softmax => "Softmax",
        SoftmaxLoss => "SoftmaxWithLoss",
        Split => "Split",
        Slice => "Slice",
        Tanh => "TanH",
        WindowData => "WindowData",
        Threshold => "Threshold",
    })
}

/// Converts a V1 layer to V2, as Caffe's UpgradeV1LayerParameter does for what the engine uses.
pub fn upgrade_v1(v1: &V1LayerParameter) -> Result<LayerParameter> {
    if v1.layer.is_some() {
        bail!(unsupported, "layer '{}' uses the V0 format (`layers {{ layer {{ ... }} }}`), which predates 2014 and is not supported; upgrade it with Caffe's upgrade_net_proto_text", v1.name());
    }
    let t = v1.r#type.and_then(|t| LayerType::try_from(t).ok()).and_then(v1_type_name);
    Ok(LayerParameter {
        name: Some(v1.name().to_string()),
        r#type: Some(t.unwrap_or("(none)").to_string()),
        bottom: v1.bottom.clone(),
        top: v1.top.clone(),
        include: v1.include.clone(),
        exclude: v1.exclude.clone(),
        blobs: v1.blobs.clone(),
        loss_weight: v1.loss_weight.clone(),
        accuracy_param: v1.accuracy_param,
        argmax_param: v1.argmax_param,
        concat_param: v1.concat_param,
        convolution_param: v1.convolution_param.clone(),
        data_param: v1.data_param.clone(),
        dropout_param: v1.dropout_param,
        dummy_data_param: v1.dummy_data_param.clone(),
        eltwise_param: v1.eltwise_param.clone(),
        exp_param: v1.exp_param,
        hdf5_data_param: v1.hdf5_data_param.clone(),
        image_data_param: v1.image_data_param.clone(),
        inner_product_param: v1.inner_product_param.clone(),
        lrn_param: v1.lrn_param,
        memory_data_param: v1.memory_data_param,
        mvn_param: v1.mvn_param,
        pooling_param: v1.pooling_param,
        power_param: v1.power_param,
        relu_param: v1.relu_param,
        sigmoid_param: v1.sigmoid_param,
        softmax_param: v1.softmax_param,
        slice_param: v1.slice_param.clone(),
        tanh_param: v1.tanh_param,
        threshold_param: v1.threshold_param,
        window_data_param: v1.window_data_param.clone(),
        transform_param: v1.transform_param.clone(),
        loss_param: v1.loss_param,
        batch_norm_param: v1.batch_norm_param.clone(),
        ..Default::default()
    })
}

/// Caffe's StateMeetsRule for the state (phase, level 0, no stages).
fn meets(rule: &NetStateRule, phase: Phase) -> bool {
    if let Some(p) = rule.phase {
        if Phase::try_from(p).ok() != Some(phase) {
            return false;
        }
    }
    if rule.min_level.is_some_and(|m| 0 < m) {
        return false;
    }
    if rule.max_level.is_some_and(|m| 0 > m) {
        return false;
    }
    // No stages are set, so any required stage fails and every not_stage passes.
    rule.stage.is_empty()
}

/// Whether a layer is part of the net in this phase (Caffe's FilterNet).
pub fn in_phase(layer: &LayerParameter, phase: Phase) -> bool {
    if !layer.include.is_empty() {
        layer.include.iter().any(|r| meets(r, phase))
    } else {
        !layer.exclude.iter().any(|r| meets(r, phase))
    }
}

/// The parser's message with the line and column of its position.
fn describe_text_error(text: &str, e: &prost_reflect::text_format::ParseError) -> String {
    use miette::Diagnostic;
    let msg = e.to_string();
    let Some(span) = e.labels().and_then(|mut l| l.next()).map(|l| l.offset()) else { return msg };
    let before = &text[..span.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let src = text.lines().nth(line - 1).unwrap_or("").trim();
    format!("line {line}, column {col}: {msg} (near `{src}`)")
}
