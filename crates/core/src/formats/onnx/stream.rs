//! Streaming .onnx reader: initializer data goes straight into f32 tensors as the bytes arrive.
