using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;

namespace Worker.Routing;

/// <summary>
/// The <c>Routing</c> section: which chain serves which kind of work, and how live figures reorder its steps.
/// A route is a chain name (<c>Routing:Routes:trivial=fast</c>); the chain holds the candidates in their configured order
/// and every step setting (retries, timeouts), so a route step is tuned like any chain step.
/// </summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>
    /// Route key to chain name. A key is a complexity (<c>trivial</c> ... <c>expert</c>), a quality (<c>draft</c>,
    /// <c>production</c>, <c>critical</c>), both joined by an underscore (<c>expert_critical</c>), or <c>default</c>. A request
    /// takes the most specific key that exists: complexity_quality, then complexity, then quality, then default (and the
    /// default chain when there is no default key).
    /// </summary>
    public Dictionary<string, string> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How much each live figure counts when candidates are ranked; they need not add up to 1.</summary>
    public RankingWeights Weights { get; set; } = new();

    /// <summary>
    /// A candidate moves ahead of an earlier one only when its score is higher by more than this: small differences
    /// (noise on a quiet system) keep the configured order.
    /// </summary>
    [Range(0.0, 1.0)]
    public double Margin { get; set; } = 0.1;

    /// <summary>How often the live figures (error rate, p95 latency over ProviderHealth:States:Window) are read again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>The weights of the ranking score (defaults as the old system scored: 0.5 reliability, 0.3 latency, 0.2 availability).</summary>
public sealed class RankingWeights
{
    /// <summary>1 - error rate over the window.</summary>
    [Range(0.0, 10.0)]
    public double Reliability { get; set; } = 0.5;

    /// <summary>The fastest candidate's p95 over this one's.</summary>
    [Range(0.0, 10.0)]
    public double Latency { get; set; } = 0.3;

    /// <summary>The quota left (from rate-limit headers and daily quotas), 1 when unknown.</summary>
    [Range(0.0, 10.0)]
    public double Availability { get; set; } = 0.2;

    /// <summary>The cheapest candidate's estimated cost for this request over this one's. Off by default: cost is what routes are for.</summary>
    [Range(0.0, 10.0)]
    public double Cost { get; set; }
}

/// <summary>Checks the <c>Routing</c> section at start; every message names the key to fix.</summary>
/// <remarks>Chain names are read from the configuration, not from the validated Chains options: a problem there is reported once, by its own validator.</remarks>
public sealed class RoutingOptionsValidator(IConfiguration configuration) : IValidateOptions<RoutingOptions>
{
    private const string Section = RoutingOptions.Section;

    /// <summary>Every route key a request can select, e.g. trivial, draft, expert_critical, default.</summary>
    public static IEnumerable<string> Keys() =>
        RouteComplexity.All.SelectMany(c => RouteQuality.All.Select(q => $"{c}_{q}"))
            .Concat(RouteComplexity.All).Concat(RouteQuality.All).Append(Router.DefaultRoute);

    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var problems = new OptionProblems();
        var known = Keys().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var chains = configuration.GetSection(ChainsOptions.Section).GetChildren().Select(c => c.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, chain) in options.Routes)
        {
            problems.Check(known.Contains(key), $"{Section}:Routes:{key}",
                "is not a route key: use a complexity (trivial, simple, moderate, complex, expert), a quality (draft, production, critical), " +
                "both joined by '_' (e.g. expert_critical), or default");
            problems.Check(chains.Contains(chain ?? ""), $"{Section}:Routes:{key}",
                $"names chain '{chain}', which is not configured; configured chains: {string.Join(", ", chains)}");
        }

        problems.Annotations(options, Section);
        problems.Annotations(options.Weights, $"{Section}:Weights");
        var w = options.Weights;
        problems.Check(w.Reliability + w.Latency + w.Availability + w.Cost > 0, $"{Section}:Weights", "are all 0: at least one figure must count");
        problems.UnknownSettings(configuration.GetSection(Section), typeof(RoutingOptions));
        problems.UnknownSettings(configuration.GetSection($"{Section}:Weights"), typeof(RankingWeights));
        return problems.Result();
    }
}
