using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 1. A backlog drained as fast as possible, the simulator answering at once, the full audit trail on: the worker's
/// completions per second against a bare MassTransit consumer that only echoes a result (same broker, vhost, prefetch and
/// concurrency, also its own process). Both start with the whole backlog waiting in their queue.
/// </summary>
public sealed class DrainThroughput : IScenario
{
    public string Name => "drain";

    public string Title => "1. Drain throughput";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(120 + sizes.DrainRequests / 80.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var n = context.Sizes.DrainRequests;
        var concurrency = context.Sizes.DrainConcurrency;
        var settings = new Dictionary<string, string>
        {
            ["Messaging__ConcurrencyLimit"] = Number(concurrency),
            ["Messaging__PrefetchCount"] = Number(concurrency),
        };
        foreach (var (key, value) in settings)
            result.Settings[key] = value;
        result.Settings["requests"] = Number(n);
        result.Settings["simulator"] = "answers at once";
        var drainTimeout = TimeSpan.FromSeconds(60 + n / 50.0);

        // The bare echo first, from a full queue.
        var echoLog = new RequestLog();
        await Load.BacklogAsync(context.Broker, echoLog, Name, n, Broker.EchoQueue, cancellationToken);
        await context.Broker.WaitForDepthAsync(Broker.EchoQueue, n, TimeSpan.FromSeconds(60), cancellationToken);
        context.Broker.Current = echoLog;
        var echo = await MeasureAsync(echoLog, () => Task.FromResult(context.StartEcho(concurrency, concurrency)));

        // Then the worker, from a full queue too.
        var workerLog = new RequestLog();
        await Load.BacklogAsync(context.Broker, workerLog, Name, n, null, cancellationToken);
        await context.Broker.WaitForDepthAsync(Broker.WorkerQueue, n, TimeSpan.FromSeconds(60), cancellationToken);
        context.Broker.Current = workerLog;
        var worker = await MeasureAsync(workerLog, () => context.StartWorkerAsync(Name, settings, waitUntilConsuming: false, cancellationToken));

        result.Check("worker / bare echo, completions per second", worker.Rate / echo.Rate, ">=", 0.6, "x");
        result.Figure("worker", worker.Rate, "/s");
        result.Figure("bare echo", echo.Rate, "/s");
        result.Figure("worker succeeded", Percent(workerLog.All.Count(r => r.Succeeded), n), "%");
        // Where the two cores went, per request: explains the ratio.
        worker.Cpu.Report(result, "worker", "worker drain");
        echo.Cpu.Report(result, "bare echo", "echo drain");
        result.Figure("peak working set: worker", worker.PeakMb, "MB");
        result.Figure("bare echo", echo.PeakMb, "MB");
        result.Notes.Add("Throughput counts the middle 90 % of results (5th to 95th percentile of arrival), CPU from the first result " +
                         "to the last: process start-up and the ramp are left out the same way for both");

        // CPU is counted over the same window as throughput: from the first result to the last (start-up left out).
        async Task<Drained> MeasureAsync(RequestLog log, Func<Task<ServiceProcess>> start)
        {
            await using var process = await start();
            await log.WaitForAsync(1, drainTimeout, cancellationToken);
            var cpu = new CpuWindow(process.Id, context.SimulatorProcess.Id);
            await log.WaitForAsync(n, drainTimeout, cancellationToken);
            return new Drained(Stats.Throughput(log.All.Select(r => r.ResultAt!.Value), trim: 0.05), cpu.Stop(n - 1), process.PeakWorkingSet / 1024.0 / 1024.0);
        }
    }

    private sealed record Drained(double Rate, CpuUse Cpu, double PeakMb);
}
