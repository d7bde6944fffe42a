// The playground's training worker: builds the teacher, the data and the student with the
// library's browser build, trains epoch after epoch and posts the eval measurements after each
// one (loss, teacher × student correlation, each student's best teacher, best ρ and fan-out).
import { evaluateTrainer, resolveConfig, Trainer } from "../dist/specialize.js";

self.onmessage = async ({ data }) => {
  let trainer;
  try {
    trainer = new Trainer(resolveConfig({ settings: data.settings }));
  } catch (e) {
    self.postMessage({ type: "error", message: e.message });
    return;
  }
  const report = () => {
    const { metrics, splits } = evaluateTrainer(trainer);
    const layer = splits.find((s) => s.name === "eval").layers[0];
    const c = layer.correlation;
    self.postMessage({
      type: "epoch",
      epoch: metrics.epoch,
      trainMse: metrics.trainMse,
      evalMse: metrics.evalMse,
      teachers: c.teachers,
      students: c.students,
      corr: c.corr,
      bestTeacher: layer.students.bestTeacher,
      bestCorr: layer.students.bestCorr,
      fanout: layer.fanoutNorm,
    });
  };
  report();
  for (let e = 0; e < trainer.config.epochs; e++) {
    trainer.trainEpoch();
    report();
    // Yield, so the page's messages and a terminate() get through between epochs.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  self.postMessage({ type: "done" });
};
