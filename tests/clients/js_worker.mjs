// A remote worker written with the official Camunda JS client, used as it is published.
//
//   node tests/clients/js_worker.mjs <engine-rest URL> <number of tasks to handle>
//
// It logs in as a service account with HTTP Basic (the client's BasicAuthInterceptor), from
// LIENTHONG_WORKER_USER and LIENTHONG_WORKER_PASSWORD.
//
// Serves the `clients.score` topic of remote_worker.bpmn (see tests/test_official_clients.py):
// the business key's suffix picks the path. Prints one JSON line per handled task, stops the
// client after the given number of tasks and exits 0; any client error exits 1 at once, and
// it gives up after 60 s (exit 3). Driven by tests/test_official_clients.py.
import { BasicAuthInterceptor, Client, Variables, logger } from "camunda-external-task-client-js";

const baseUrl = process.argv[2] || process.env.ENGINE_REST_URL || "http://127.0.0.1:8080/engine-rest";
const expected = Number(process.argv[3] || process.env.TASKS || 1);

const client = new Client({
  baseUrl,
  workerId: "js-worker",
  maxTasks: 2,
  lockDuration: 10000,
  asyncResponseTimeout: 300,
  interval: 20,
  use: logger.level("error"),
  interceptors: new BasicAuthInterceptor({
    username: process.env.LIENTHONG_WORKER_USER,
    password: process.env.LIENTHONG_WORKER_PASSWORD,
  }),
});

let handled = 0;

function fail(what, error) {
  console.error(`js_worker: ${what}: ${error && (error.stack || error.message || error)}`);
  process.exit(1);
}
for (const event of ["poll:error", "complete:error", "handleFailure:error", "handleBpmnError:error", "handler:error"]) {
  client.on(event, (...args) => fail(event, args[args.length - 1]));
}

const giveUp = setTimeout(() => {
  console.error(`js_worker: timed out after handling ${handled} of ${expected} tasks`);
  process.exit(3);
}, 60000);

client.subscribe("clients.score", async ({ task, taskService }) => {
  const businessKey = task.businessKey;
  const age = task.variables.get("age");
  let action;
  if (businessKey.endsWith("-ACCEPT")) {
    action = "complete";
    await taskService.complete(task, new Variables().set("score", 80));
  } else if (businessKey.endsWith("-RETRY") && task.retries == null) {
    action = "failure";
    await taskService.handleFailure(task, {
      errorMessage: "Scoring service unavailable",
      errorDetails: "HTTP 503 from the scoring service",
      retries: 2,
      retryTimeout: 0,
    });
  } else if (businessKey.endsWith("-RETRY")) {
    action = "complete";
    await taskService.complete(task, new Variables().set("score", 20));
  } else if (businessKey.endsWith("-REJECT")) {
    action = "bpmnError";
    await taskService.handleBpmnError(task, "NOT_ELIGIBLE", "Applicant is under 18",
      new Variables().set("reason", "under 18"));
  } else if (businessKey.endsWith("-INCIDENT") && task.retries == null) {
    action = "failure";
    await taskService.handleFailure(task, {
      errorMessage: "Scoring rules missing",
      errorDetails: "no rule for age 50",
      retries: 0,
      retryTimeout: 0,
    });
  } else {
    action = "complete";
    await taskService.complete(task, new Variables().set("score", 90));
  }
  console.log(JSON.stringify({
    businessKey, action, age,
    retries: task.retries ?? null,
    errorMessage: task.errorMessage ?? null,
    errorDetails: task.errorDetails ?? null,
  }));
  handled += 1;
  if (handled >= expected) {
    client.stop();
    clearTimeout(giveUp);
  }
});
