/**
 * Cost of the exact population quantities (`Population.evaluate`) in the paper's two-layer config
 * (d = 100, 20 teacher nodes, a 10× student of 200 nodes, 50 outputs, σ = 1.5): the loss alone,
 * the loss with its gradient and the correlation matrix, at the initial student and at a student
 * after 10 SGD epochs (larger correlations: more pairs take BVNU's 12- and 20-point rules), beside
 * one SGD epoch of 1000 steps. Target (issue #10): loss + gradient ≤ 30 ms.
 *
 * Writes `bench/results/population.json`. Run: `deno bench -A bench/population_bench.ts`
 */
import process from "node:process";
import { resolveConfig } from "../src/config.ts";
import { Population } from "../src/population.ts";
import { Trainer } from "../src/train.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { printTable } from "./_timing.ts";

const ROUNDS = 9;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** CPU milliseconds of fn (user + system of this process: robust on a shared, loaded machine). */
function ms(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

const trainer = new Trainer(resolveConfig({ settings: { epochs: 100 } }));
const cfg = trainer.config;
const pop = new Population({
  d: cfg.d,
  outputs: cfg.outputs,
  dataStd: cfg.dataStd,
  teacherW0: trainer.teacher.getWeights(0),
  teacherW1: trainer.teacher.getWeights(1),
});
const student = () => [trainer.student.getWeights(0), trainer.student.getWeights(1)];
const K = cfg.widths[0] * cfg.multi, J = cfg.widths[0];
const grad = () => {
  const [w0, w1] = student();
  return { w0: new Float64Array(w0.length), w1: new Float64Array(w1.length) };
};
const g = grad(), corr = new Float64Array(J * K);

const rows = [["student", "loss ms", "loss + gradient + corr ms", "SGD epoch ms", "ratio"]];
const initial = student();
for (
  const [name, prepare] of [["initial", () => {}], ["after 10 epochs", () => {
    for (let e = 0; e < 10; e++) trainer.trainEpoch();
  }]] as const
) {
  prepare();
  const [w0, w1] = student();
  pop.evaluate(w0, w1, g, corr);
  const loss: number[] = [], full: number[] = [], epoch: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    loss.push(ms(() => pop.evaluate(w0, w1)));
    full.push(ms(() => pop.evaluate(w0, w1, g, corr)));
    if (r < 3) epoch.push(ms(() => trainer.steps(cfg.iters, 0)));
  }
  const f = median(full), e = median(epoch);
  rows.push([name, median(loss).toFixed(1), f.toFixed(1), e.toFixed(1), (f / e).toFixed(3)]);
}
console.log(`population loss of a ${K}-node student against ${J} teacher nodes, CPU ms, medians:`);
printTable(rows);
await writeBenchResults("population", {
  what: "Population.evaluate, paper two-layer config (d 100, 200 × 20 nodes, 50 outputs), CPU ms",
  rows: tableRecords(rows),
});

Deno.bench({
  name: "population loss + gradient + correlation, 200 students × 20 teachers, d 100, c 50",
  fn: () => {
    pop.evaluate(initial[0], initial[1], g, corr);
  },
});
