using System.Globalization;
using System.Reflection;
using System.Text;

namespace Worker.Benchmarks;

/// <summary>Scenario sizes. Every one can be set on the command line in kebab case: <c>--drain-requests 5000</c>.</summary>
public sealed class Sizes
{
    /// <summary>Drain: the backlog published before the worker (and the bare echo) starts.</summary>
    public int DrainRequests { get; set; } = 20_000;

    /// <summary>Drain: Messaging:ConcurrencyLimit and PrefetchCount, for the worker and the bare echo alike (the worker's default).</summary>
    public int DrainConcurrency { get; set; } = 64;

    /// <summary>In-flight: requests kept in flight, and the worker's concurrency and prefetch.</summary>
    public int InFlight { get; set; } = 2_000;

    /// <summary>In-flight: the primary's simulated latency.</summary>
    public int InFlightLatencyMs { get; set; } = 2_000;

    /// <summary>In-flight: the measured window, after two latencies of warm-up.</summary>
    public int InFlightSeconds { get; set; } = 20;

    /// <summary>Outage: requests sent while the primary is hard down (the Portkey anchor's 2,000).</summary>
    public int OutageRequests { get; set; } = 2_000;

    /// <summary>Outage: requests of the reference run against the fallback alone.</summary>
    public int OutageReferenceRequests { get; set; } = 500;

    /// <summary>Outage, partial failures and healthy: requests in flight (the Portkey anchor's 50).</summary>
    public int Concurrency { get; set; } = 50;

    /// <summary>The simulated latency of a healthy provider call (outage, recovery, overhead, partial failures, healthy).</summary>
    public int ProviderLatencyMs { get; set; } = 50;

    /// <summary>Recovery: how long the primary is down.</summary>
    public int RecoveryOutageSeconds { get; set; } = 30;

    /// <summary>Recovery: steady load, requests per second.</summary>
    public int RecoveryRate { get; set; } = 20;

    /// <summary>Recovery: ProviderHealth:PingInterval (the default is 30 s).</summary>
    public int RecoveryPingSeconds { get; set; } = 30;

    /// <summary>Overhead: requests per second.</summary>
    public int OverheadRate { get; set; } = 200;

    /// <summary>Overhead: the measured window, after a few seconds of warm-up.</summary>
    public int OverheadSeconds { get; set; } = 20;

    /// <summary>Partial failures (partial-5xx, -429, -both, -junk): requests sent to each (the Portkey anchor's 2,000).</summary>
    public int PartialRequests { get; set; } = 2_000;

    /// <summary>Healthy: requests measured, after the warm-up.</summary>
    public int HealthyRequests { get; set; } = 5_000;

    /// <summary>Healthy: warm-up requests (JIT, connections, pools) before the measured ones.</summary>
    public int HealthyWarmUpRequests { get; set; } = 1_000;

    /// <summary>Scale: worker processes of the second run (the first runs one), all on one broker and one database.</summary>
    public int ScaleInstances { get; set; } = 3;

    /// <summary>Scale: requests in flight per instance, and each instance's concurrency and prefetch (latency and window as in-flight's).</summary>
    public int ScaleInFlightPerInstance { get; set; } = 200;

    /// <summary>Routing: requests per run (default chain, routed, routed with the fast primary degraded), at <see cref="Concurrency"/> in flight.</summary>
    public int RoutingRequests { get; set; } = 1_000;

    /// <summary>Routing: gemini-2.5-flash's latency (a short answer's time to last token, as commonly measured: 0.3 to 0.6 s).</summary>
    public int RoutingFlashLatencyMs { get; set; } = 400;

    /// <summary>Routing: gpt-4o-mini's latency (0.4 to 0.8 s).</summary>
    public int RoutingMiniLatencyMs { get; set; } = 500;

    /// <summary>Routing: gemini-2.5-pro's latency (a thinking model: 1.5 s and up).</summary>
    public int RoutingProLatencyMs { get; set; } = 1_750;

    /// <summary>Routing: o3-mini's latency (a reasoning model: about 2 s).</summary>
    public int RoutingO3MiniLatencyMs { get; set; } = 2_000;

    /// <summary>Routing: share of gemini-2.5-flash's calls answered 503 in the degraded run, in percent.</summary>
    public int RoutingDegradedPercent { get; set; } = 30;

    /// <summary>Priority: batch requests (priority 2) queued before the interactive ones.</summary>
    public int PriorityBatchRequests { get; set; } = 5_000;

    /// <summary>Priority: interactive requests (priority 9) published while the batch drains.</summary>
    public int PriorityInteractiveRequests { get; set; } = 50;

    /// <summary>Priority: interactive requests published per second.</summary>
    public int PriorityInteractiveRate { get; set; } = 5;

    /// <summary>Priority: the provider's simulated latency (the issue's 1 s provider).</summary>
    public int PriorityLatencyMs { get; set; } = 1_000;

    /// <summary>Priority: Messaging:ConcurrencyLimit and PrefetchCount (the worker's defaults).</summary>
    public int PriorityConcurrency { get; set; } = 64;

    public static Sizes Quick() => new()
    {
        DrainRequests = 3_000,
        InFlight = 500,
        InFlightSeconds = 8,
        OutageRequests = 500,
        OutageReferenceRequests = 200,
        RecoveryOutageSeconds = 10,
        RecoveryPingSeconds = 10,
        OverheadSeconds = 5,
        PartialRequests = 300,
        HealthyRequests = 1_000,
        HealthyWarmUpRequests = 200,
        ScaleInFlightPerInstance = 50,
        RoutingRequests = 200,
        PriorityBatchRequests = 1_000,
        PriorityInteractiveRequests = 20,
    };

    internal static IEnumerable<PropertyInfo> Knobs => typeof(Sizes).GetProperties();

    internal static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}

/// <summary>The command line of the benchmark tool.</summary>
public sealed class BenchOptions
{
    public static readonly string[] ScenarioNames =
    [
        "drain", "inflight", "outage", "recovery", "overhead", "partial-5xx", "partial-429", "partial-both", "partial-junk", "scale", "healthy", "routing", "priority",
    ];

    public bool Quick { get; private set; }

    public List<string> Scenarios { get; } = [];

    public Sizes Sizes { get; private set; } = new();

    /// <summary>Report name: <c>latest</c> for a full run at default sizes, else <c>partial</c>, unless --name says.</summary>
    public string ReportName { get; private set; } = "";

    public string? OutputDirectory { get; private set; }

    /// <summary>Extra worker settings for every scenario (<c>--worker-env KEY=VALUE</c>), for what-if runs: a profile's cause, a fix.</summary>
    public Dictionary<string, string> WorkerEnvironment { get; } = [];

    public static string Usage
    {
        get
        {
            var text = new StringBuilder();
            text.AppendLine("Usage: ops/bench.sh [--quick] [--scenario NAME]... [--name REPORT] [--out DIR] [--worker-env KEY=VALUE]... [--SIZE VALUE]...");
            text.AppendLine($"  scenarios: {string.Join(", ", ScenarioNames)} (default: all, in this order)");
            text.AppendLine("  --quick: smaller sizes, a smoke run of about 2 minutes; reports go to bench/results/partial.{md,json}");
            text.AppendLine("  --worker-env: an extra worker setting for every scenario, e.g. DOTNET_gcServer=0 (a what-if run; reports go to partial.*)");
            text.AppendLine("  sizes (full-run defaults):");
            var defaults = new Sizes();
            foreach (var knob in Sizes.Knobs)
                text.AppendLine(CultureInfo.InvariantCulture, $"    --{Sizes.Kebab(knob.Name)} {knob.GetValue(defaults)}");
            return text.ToString();
        }
    }

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        options.Quick = args.Contains("--quick");
        if (options.Quick)
            options.Sizes = Sizes.Quick();
        string? name = null;
        var resized = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            switch (arg)
            {
                case "--quick":
                    break;
                case "--scenario":
                    foreach (var scenario in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!ScenarioNames.Contains(scenario))
                            throw new ArgumentException($"Unknown scenario '{scenario}'; known: {string.Join(", ", ScenarioNames)}");
                        options.Scenarios.Add(scenario);
                    }

                    break;
                case "--name":
                    name = Value();
                    break;
                case "--out":
                    options.OutputDirectory = Value();
                    break;
                case "--worker-env":
                    var setting = Value().Split('=', 2);
                    if (setting.Length != 2 || setting[0].Length == 0)
                        throw new ArgumentException($"--worker-env takes KEY=VALUE, was '{string.Join('=', setting)}'");
                    options.WorkerEnvironment[setting[0]] = setting[1];
                    resized = true;
                    break;
                default:
                    var knob = Sizes.Knobs.FirstOrDefault(k => arg == "--" + Sizes.Kebab(k.Name))
                               ?? throw new ArgumentException($"Unknown option '{arg}'");
                    var text = Value();
                    if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number <= 0)
                        throw new ArgumentException($"{arg} must be a positive whole number, was '{text}'");
                    knob.SetValue(options.Sizes, number);
                    resized = true;
                    break;
            }
        }

        if (options.Scenarios.Count == 0)
            options.Scenarios.AddRange(ScenarioNames);
        options.ReportName = name ?? (options.Quick || resized || options.Scenarios.Count < ScenarioNames.Length ? "partial" : "latest");
        return options;
    }
}
