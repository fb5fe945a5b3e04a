/**
 * What leaves skipstudio for other tools: ONNX graphs of trained models,
 * TensorBoard event files.
 */
export { type OnnxExport, type OnnxModelDescription, exportOnnx, exportRunToOnnx, loadRunModel } from './onnx.js';
export { IR_VERSION, OPSET } from './onnx-version.js';
export {
  FILE_VERSION,
  TensorBoardRunDirectory,
  type TensorBoardSink,
  TensorBoardWriter,
  crc32c,
  eventFileBytes,
  maskedCrc32c,
  recordScalars,
  runEventFile,
  tensorboardSink,
  tfRecord,
  writeRunScalars,
  writeTensorBoard,
} from './tensorboard.js';
