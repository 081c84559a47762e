using System.Globalization;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;

namespace Worker.Benchmarks.Scenarios;

/// <summary>One benchmark scenario: bounded in time, it records checks (ratios against targets) and figures.</summary>
public interface IScenario
{
    string Name { get; }

    string Title { get; }

    /// <summary>Past this the scenario is cancelled and reported as not finished.</summary>
    TimeSpan TimeLimit(Sizes sizes);

    Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken);
}

public static class Scenarios
{
    public static IScenario Create(string name) => name switch
    {
        "drain" => new DrainThroughput(),
        "inflight" => new InFlightCapacity(),
        "outage" => new OutageCost(),
        "recovery" => new Recovery(),
        "overhead" => new Overhead(),
        "scale" => new HorizontalScale(),
        "healthy" => new HealthyTraffic(),
        "routing" => new Routing(),
        "priority" => new Priority(),
        _ when PartialFailure.Cases.FirstOrDefault(c => c.Name == name) is { } partial => new PartialFailure(partial),
        _ => throw new ArgumentException($"Unknown scenario '{name}'", nameof(name)),
    };

    /// <summary>Latencies (seconds) of the requests that have a result, in milliseconds.</summary>
    public static List<double> LatenciesMs(IEnumerable<RequestRecord> records) =>
        [.. records.Where(r => r.ResultAt is not null).Select(r => r.LatencySeconds * 1000)];

    public static double Percent(int part, int whole) => whole == 0 ? double.NaN : 100.0 * part / whole;

    public static string Seconds(double seconds) => TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture);

    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Waits for the result of every request published so far, generously: a missing result is an error worth seeing.</summary>
    public static Task AllResultsAsync(RequestLog log, TimeSpan timeout, CancellationToken cancellationToken) =>
        log.WaitForAsync(log.Published, timeout, cancellationToken);
}
