// The benchmark tool: ops/bench.sh runs it after building and migrating. See BenchOptions.Usage, and README "Benchmarks".
//   Worker.Benchmarks.dll [--quick] [--scenario NAME]... [--SIZE VALUE]...   run scenarios, write bench/results/*.{md,json}
//   Worker.Benchmarks.dll echo                                                the bare echo consumer (started by the drain scenario)
using Worker.Benchmarks;
using Worker.Benchmarks.Echo;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using Worker.Benchmarks.Scenarios;

if (args is ["echo", ..])
    return await EchoHost.RunAsync(args[1..]);
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

var startedAt = DateTimeOffset.UtcNow;
var results = new List<ScenarioResult>();
Machine machine;
await using (var context = await BenchContext.StartAsync(options, stop.Token))
{
    machine = Machine.Describe(context.Broker.ServerVersion, await AuditQueries.ServerVersionAsync(context.Postgres, stop.Token));
    Console.WriteLine($"Machine: {machine.Summary}");
    Console.WriteLine($"Logs of the processes: {context.LogDirectory}");
    foreach (var name in options.Scenarios)
    {
        var scenario = Scenarios.Create(name);
        Console.WriteLine($"==> {scenario.Title} (at most {scenario.TimeLimit(options.Sizes).TotalSeconds:0} s)");
        var result = await context.RunAsync(scenario, stop.Token);
        if (result.ConnectionLost && !stop.IsCancellationRequested)
        {
            // Other work on this machine restarts RabbitMQ or PostgreSQL now and then: one more try, on record.
            Console.WriteLine($"    lost a connection ({result.Error}); running it again");
            var first = result.Error;
            result = await context.RunAsync(scenario, stop.Token);
            result.Notes.Add($"Run a second time: the first try lost a connection ({first})");
        }

        results.Add(result);
        foreach (var check in result.Checks)
            Console.WriteLine($"    {check.Label}: {RunReport.Format(check.Value, check.Unit)} (target {check.Comparison} {RunReport.Format(check.Target, check.Unit)}) {(check.Met ? "met" : "MISSED")}");
        Console.WriteLine($"    {string.Join("; ", result.Figures.Select(f => $"{f.Label} {RunReport.Format(f.Value, f.Unit)}"))}");
        if (result.Error is not null)
            Console.WriteLine($"    NOT FINISHED: {result.Error}");
        if (stop.IsCancellationRequested)
            break;
    }
}

var command = Environment.GetEnvironmentVariable("BENCH_COMMAND") ?? "Worker.Benchmarks " + string.Join(' ', args);
var commit = Environment.GetEnvironmentVariable("BENCH_COMMIT") ?? "unknown";
var report = new RunReport(command, commit, startedAt, (DateTimeOffset.UtcNow - startedAt).TotalMinutes, machine, options.WorkerEnvironment, results);
var directory = options.OutputDirectory ?? Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "bench", "results");
Console.WriteLine();
Console.WriteLine(report.Write(Path.GetFullPath(directory), options.ReportName));
Console.WriteLine($"Written: {Path.GetFullPath(Path.Combine(directory, options.ReportName))}.md and .json");
return results.Any(r => r.Error is not null) ? 1 : 0;
