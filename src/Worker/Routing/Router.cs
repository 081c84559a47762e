using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;

namespace Worker.Routing;

/// <summary>The steps a request runs, in order, and the decision that chose them (what the result and the audit trail show).</summary>
public sealed record RoutedChain(IReadOnlyList<ChainStep> Steps, RouteDecision Decision);

/// <summary>
/// Decides which providers a request goes to, and in what order. A request that names a chain, or gives no route hints,
/// runs that chain (or the default one) exactly as configured. A request with <c>route</c> hints gets the chain of the
/// most specific matching <c>Routing:Routes</c> key, its forced provider or model first, and the rest ranked by live
/// health (<see cref="Ranking"/>). The decision is made once per request: a deferred run resumes in the stored order
/// (<see cref="Restore"/>), so a step index always means the same step.
/// </summary>
public sealed class Router(
    ChainCatalog chains,
    IOptions<RoutingOptions> options,
    IOptions<ProvidersOptions> providers,
    RouteFigures figures,
    CircuitBreakers breakers,
    IOptions<ProviderHealthOptions> health,
    CallCost costs,
    IQuotaView? quotas = null)
{
    /// <summary>The route key used when no more specific one matches.</summary>
    public const string DefaultRoute = "default";

    /// <summary>The tier of a request that named a chain or gave no route: <c>chain:NAME</c>.</summary>
    public static string ChainTier(string chain) => $"chain:{chain}";

    /// <summary>What is wrong with the request's <c>route</c> and <c>tenant</c>, naming the field; null when they are valid.</summary>
    public string? Problem(CompletionRequested request)
    {
        if (request.Tenant is { } tenant && (string.IsNullOrWhiteSpace(tenant) || tenant.Length > 128))
            return $"tenant must be 1 to 128 characters, was {(string.IsNullOrWhiteSpace(tenant) ? "blank" : $"{tenant.Length} characters")}";
        if (request.Route is not { } route)
            return null;
        if (route.Complexity is { } complexity && !RouteComplexity.All.Contains(complexity))
            return $"route.complexity '{complexity}' is not one of {string.Join(", ", RouteComplexity.All)}";
        if (route.Quality is { } quality && !RouteQuality.All.Contains(quality))
            return $"route.quality '{quality}' is not one of {string.Join(", ", RouteQuality.All)}";
        if (route.MaxCostUsd is { } max && !(max > 0 && double.IsFinite(max)))
            return $"route.maxCostUsd must be a number above 0, was {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        if (route.Provider is { } provider && !providers.Value.ContainsKey(provider))
            return $"route.provider '{provider}' is not a configured provider; configured: {string.Join(", ", providers.Value.Keys)}";
        if (route.Model is { } model && string.IsNullOrWhiteSpace(model))
            return "route.model is blank";
        if (route.Model is { } m && route.Provider is null && FindStep(s => s.Model.Equals(m, StringComparison.OrdinalIgnoreCase), null) is null)
            return $"route.model '{m}' is not served by any configured chain; name route.provider too";
        if (route.Provider is { } p && route.Model is null && FindStep(s => s.Provider.Equals(p, StringComparison.OrdinalIgnoreCase), null) is null)
            return $"route.provider '{p}' has no model in any configured chain; name route.model too";
        if (route.FallbackAllowed == false && route.Provider is null && route.Model is null)
            return "route.fallbackAllowed is false but no route.provider or route.model is forced";
        return null;
    }

    /// <summary>The name of the chain that serves the request: the one it names, its route's, or the default.</summary>
    public string ChainOf(CompletionRequested request) =>
        request.Chain is { } named ? named
        : request.Route is { } route ? Select(route).Chain
        : ChainsOptions.DefaultChain;

    /// <summary>The steps and decision for a request starting its chain. Call <see cref="Problem"/> first.</summary>
    public RoutedChain Route(CompletionRequested request)
    {
        if (request.Chain is { } named || request.Route is null)
        {
            var name = request.Chain ?? ChainsOptions.DefaultChain;
            chains.TryGet(name, out var fixedSteps);
            return new RoutedChain(fixedSteps, new RouteDecision(ChainTier(name), Names(fixedSteps),
                request.Chain is null ? "no route hints: the default chain in its configured order" : $"the request named chain '{name}': its configured order"));
        }

        var route = request.Route;
        var (key, chain) = Select(route);
        chains.TryGet(chain, out var steps);
        var reason = new List<string> { key == DefaultRoute && !options.Value.Routes.ContainsKey(DefaultRoute) ? $"no route for the hints: chain '{chain}'" : $"route '{key}' -> chain '{chain}'" };

        var forced = Forced(route, steps);
        if (forced is not null)
        {
            reason.Add($"{forced.Provider}/{forced.Model} forced first{(route.FallbackAllowed == false ? ", no fallback" : "")}");
        }

        var rest = route.FallbackAllowed == false ? [] : steps.Where(s => forced is null || !Same(s, forced)).ToList();
        var ranked = Rank(rest, request, reason);
        var ordered = (forced is null ? ranked : [forced, .. ranked]).Select((s, i) => s with { Index = i }).ToList();
        return new RoutedChain(ordered, new RouteDecision(key, Names(ordered), string.Join("; ", reason)));
    }

    /// <summary>
    /// The steps of a decision made earlier (a deferred request resuming), in its order. Null when a candidate is no longer
    /// configured: the caller routes afresh from the beginning then.
    /// </summary>
    public RoutedChain? Restore(CompletionRequested request, RouteDecision decision)
    {
        IReadOnlyList<ChainStep> source;
        if (decision.Tier.StartsWith("chain:", StringComparison.Ordinal))
        {
            if (!chains.TryGet(decision.Tier["chain:".Length..], out source))
                return null;
        }
        else
        {
            var (_, chain) = request.Route is { } route ? Select(route) : (DefaultRoute, ChainsOptions.DefaultChain);
            chains.TryGet(chain, out source);
        }

        var steps = new List<ChainStep>();
        foreach (var name in decision.Candidates)
        {
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
                return null;
            var (provider, model) = (name[..slash], name[(slash + 1)..]);
            var step = source.FirstOrDefault(s => s.Provider == provider && s.Model == model)
                ?? FindStep(s => s.Provider == provider && s.Model == model, null)
                ?? (providers.Value.ContainsKey(provider) ? chains.StepFor(provider, model) : null);
            if (step is null)
                return null;
            steps.Add(step with { Index = steps.Count });
        }

        return new RoutedChain(steps, decision);
    }

    /// <summary>The most specific route key configured for the hints, and its chain.</summary>
    private (string Key, string Chain) Select(RouteHints route)
    {
        var routes = options.Value.Routes;
        string?[] keys = [route.Complexity is { } c && route.Quality is { } q ? $"{c}_{q}" : null, route.Complexity, route.Quality, DefaultRoute];
        foreach (var key in keys)
        {
            if (key is not null && routes.TryGetValue(key, out var chain))
                return (key.ToLowerInvariant(), chain);
        }

        return (DefaultRoute, ChainsOptions.DefaultChain);
    }

    /// <summary>
    /// The forced step: the route's own step for the provider (and model) when it has one, else one from another chain,
    /// else a step with default settings for the named provider and model. Null when nothing is forced.
    /// </summary>
    private ChainStep? Forced(RouteHints route, IReadOnlyList<ChainStep> steps)
    {
        if (route.Provider is null && route.Model is null)
            return null;
        bool Matches(ChainStep s) =>
            (route.Provider is null || s.Provider.Equals(route.Provider, StringComparison.OrdinalIgnoreCase)) &&
            (route.Model is null || s.Model.Equals(route.Model, StringComparison.OrdinalIgnoreCase));
        return steps.FirstOrDefault(Matches)
            ?? FindStep(Matches, null)
            ?? (route.Provider is { } provider && route.Model is { } model ? chains.StepFor(provider, model) : null);
    }

    private ChainStep? FindStep(Func<ChainStep, bool> matches, string? inChain) =>
        chains.Names.Where(n => inChain is null || n == inChain)
            .SelectMany(n => chains.TryGet(n, out var s) ? s : [])
            .FirstOrDefault(matches);

    private List<ChainStep> Rank(List<ChainStep> steps, CompletionRequested request, List<string> reason)
    {
        if (steps.Count < 2)
            return steps;
        var settings = health.Value;
        var candidates = steps.Select(s =>
        {
            var pair = new ProviderModel(s.Provider, s.Model);
            var f = figures.Of(pair);
            var verdict = HealthStates.Derive(f, breakers.StateOf(s.Provider, s.Model), settings);
            var known = f.Calls >= settings.States.MinCalls;
            return new Candidate(s.Provider, s.Model, verdict.State, known ? f.ErrorRate : null, f.OkCalls >= settings.States.MinCalls ? f.P95Ms : null,
                quotas?.RemainingFraction(s.Provider, s.Model), costs.Estimate(s.Model, request));
        }).ToList();

        var ordered = Ranking.Order(candidates, options.Value.Weights, options.Value.Margin);
        if (ordered.SequenceEqual(candidates))
        {
            reason.Add("configured order kept");
            return steps;
        }

        reason.Add("reordered by live figures: " + string.Join(", ", ordered.Select(c =>
            $"{c} {c.Health.ToWireName()}{(c.ErrorRate is { } e ? $" errors {e:P0}" : "")}{(c.P95Ms is { } p ? $" p95 {p:0} ms" : "")}" +
            (c.QuotaLeft is { } q ? $" quota left {q:P0}" : ""))));
        return [.. ordered.Select(c => steps.First(s => s.Provider == c.Provider && s.Model == c.Model))];
    }

    private static bool Same(ChainStep a, ChainStep b) => a.Provider == b.Provider && a.Model == b.Model;

    private static IReadOnlyList<string> Names(IReadOnlyList<ChainStep> steps) => [.. steps.Select(s => $"{s.Provider}/{s.Model}")];
}
