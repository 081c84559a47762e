using Spectre.Console;
using Worker.Ops.Cli;

// worker-ops: the worker's ops API from a terminal. WORKER_URL (default http://127.0.0.1:8080) and OPS_API_KEY come from
// the environment; OPS_USER (default: the login name) is recorded as who acted. See `worker-ops --help`.
var url = Environment.GetEnvironmentVariable("WORKER_URL") is { Length: > 0 } u ? u : "http://127.0.0.1:8080";
using var api = OpsClient.Create(url, Environment.GetEnvironmentVariable("OPS_API_KEY"),
    Environment.GetEnvironmentVariable("OPS_USER") is { Length: > 0 } user ? user : Environment.UserName);
return await OpsCommands.Build(api, AnsiConsole.Console).Parse(args).InvokeAsync();
