/**
 * The ONNX versions the exporter writes. Apart from the graph builder, so
 * that the public types never reach onnx-proto's declarations (which need
 * protobufjs's `Long` in scope and fail a consumer's type check without
 * skipLibCheck).
 */

/** The opset the exporter writes: Conv, BatchNormalization (inference), Relu, Add, Concat, MaxPool, Gemm, Flatten, GlobalAveragePool... */
export const OPSET = 17;
/** ONNX IR version 8 goes with opsets up to 17. */
export const IR_VERSION = 8;
