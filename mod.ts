/**
 * specialize: teacher–student experiments on deep ReLU networks, with AssemblyScript WASM SIMD
 * kernels doing the matrix math (Tian, "Over-parameterization as a Catalyst for Better
 * Generalization of Deep ReLU network", arXiv 1909.13458).
 *
 * A fixed teacher ReLU network labels Gaussian inputs; an over-parameterized student of the same
 * depth learns from its outputs with SGD. Everything runs in one WASM instance per run, with no
 * Deno permissions (writing a run folder needs write access to it).
 *
 * @example Train a small two-layer student and watch the eval loss fall
 * ```ts
 * import { resolveConfig, Trainer } from "@specialize/specialize";
 *
 * const config = resolveConfig({ settings: { d: 20, widths: [5], outputs: 5, multi: 4, epochs: 3 } });
 * const trainer = new Trainer(config);
 * const before = trainer.evaluate().evalMse;
 * for (let e = 0; e < config.epochs; e++) trainer.trainEpoch();
 * const after = trainer.evaluate().evalMse;
 * console.log(`eval MSE ${before.toExponential(2)} → ${after.toExponential(2)}`);
 * ```
 * @module
 */

export {
  ConfigError,
  estimateMemory,
  lrAt,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  parseSchedule,
  type RawSettings,
  resolveConfig,
  type RunConfig,
  type Schedule,
} from "./src/config.ts";
export { Rng, type RngState, STREAM } from "./src/rng.ts";
export {
  type AdamParams,
  type FloatArray,
  fmaKernelsModule,
  Kernels,
  kernelsModule,
  type Mat,
  type Precision,
  sharedKernelsModule,
} from "./src/kernels.ts";
export { controlBytes, MAX_ARGS, MAX_PARTS, type PartFn, ThreadPool } from "./src/threads.ts";
export { type LayerBuffers, Network, type Workspace } from "./src/network.ts";
export { buildTeacher, gridRows, initStudent, layerSizes, median } from "./src/teacher.ts";
export {
  CHUNK_ROWS,
  type DataSet,
  forEachChunk,
  label,
  makeDataSet,
  makeTeacherAwareDataSet,
  type Subsample,
  subsample,
} from "./src/data.ts";
export {
  type BatchGradNorms,
  type DataLosses,
  dormandPrince,
  type EpochMetrics,
  FLOW_ATOL,
  FLOW_RTOL,
  Trainer,
  type TrainerRngState,
  type TrainerSnapshot,
} from "./src/train.ts";
export { decodeNpy, encodeNpy, type NpyArray } from "./src/npy.ts";
export {
  type LayerOverlaps,
  layerOverlaps,
  OVERLAPS_CSV_HEADER,
  overlapsCsvRows,
} from "./src/overlaps.ts";
export {
  checkOutFolder,
  CHECKPOINT_FILE,
  type Divergence,
  type PolishSummary,
  readRunConfig,
  resumeRun,
  type RunOptions,
  type RunResult,
  type RunTiming,
  runToFolder,
  TEMP_FILE,
  writeFileAtomic,
} from "./src/run.ts";
export {
  DATA_FILES,
  dataKeys,
  type DataRef,
  type DiskEstimate,
  estimateDisk,
  estimateRunDisk,
  formatBytes,
  parseSaveData,
  type RunDataFiles,
  runDataFiles,
  SAVE_DATA_MODES,
  type SaveData,
  STUDENT_ONLY_KEYS,
  TEACHER_ONLY_KEYS,
} from "./src/data_store.ts";
export {
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./src/checkpoint.ts";
export { type Provenance, provenance, VERSION } from "./src/version.ts";
export { NeedsDenoError, requireDeno } from "./src/platform.ts";
// -- analysis exports (alignment, gradients) below --
export {
  type Correlation,
  CorrelationAccumulator,
  type CorrelationSums,
  finishCorrelation,
  SpecializationTimeline,
  type StudentSummary,
  SUCCESS_TAU,
  summarizeStudents,
  summarizeTeachers,
  TAUS,
  type TeacherSummary,
  type TimelineEntry,
} from "./src/alignment.ts";
export {
  type BetaLayer,
  fanoutNorms,
  JacobianBeta,
  ObservabilityAccumulator,
  PerSampleGradients,
  quantileSorted,
  type SampleGradientStats,
} from "./src/gradients.ts";
export {
  alignmentCsvHeader,
  alignmentCsvRows,
  type AnalysisOptions,
  Analyzer,
  DEFAULT_BETA_SAMPLES,
  evaluateTrainer,
  type EvaluateTrainerOptions,
  type GradientAnalysis,
  gradientCsvHeader,
  gradientCsvValues,
  type LayerAnalysis,
  type PopulationAnalysis,
  type SplitAnalysis,
  type SplitInput,
  STUDENTS_CSV_HEADER,
  studentsCsvRows,
  TEACHER_CACHE_BYTES,
  timelineCsv,
  type TrainerEvaluation,
  trainerSplits,
} from "./src/analysis.ts";
export type { LayerResult } from "./src/run.ts";
// -- sweep exports (grid × seeds, workers, shards) below --
export {
  canonicalJson,
  checkSweepFolder,
  configHash,
  DATA_DIR,
  type GridAxis,
  type JobRunner,
  type JobState,
  jobState,
  manifestOf,
  parseGrid,
  parseSeeds,
  parseShard,
  planSweep,
  type Preset,
  presetOf,
  PRESETS,
  readManifest,
  resolveShard,
  runSweep,
  type Shard,
  SHARD_ENV,
  shardJobs,
  type SweepJob,
  type SweepManifest,
  type SweepOptions,
  type SweepPlan,
  type SweepProgress,
  type SweepSpec,
  type SweepSummary,
  writeSweepCsv,
} from "./src/sweep.ts";
// -- population (infinite-data) theory of the two-layer net below --
export { bivariateNormalCdf, normalCdf, normalPdf } from "./src/normal.ts";
export {
  newReluPair,
  Population,
  populationMse,
  type ReluPair,
  reluPair,
  type ReluUnit,
  reluUnit,
  type TwoLayerGradient,
} from "./src/population.ts";
export { LBFGS_MEMORY, type PolishResult, polishTrainer } from "./src/polish.ts";
