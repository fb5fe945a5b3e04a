export { type OnnxExport, type OnnxModelDescription, exportOnnx, exportRunToOnnx, loadRunModel } from './onnx.js';
export { IR_VERSION, OPSET } from './onnx-graph.js';
export {
  FILE_VERSION, TensorBoardWriter, crc32c, eventFileBytes, maskedCrc32c, recordScalars, tensorboardSink, tfRecord, writeRunScalars, writeTensorBoard,
} from './tensorboard.js';
