using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Routing;
using Worker.Tests.Fakes;

namespace Worker.Tests.Routing;

public class RouterTests
{
    private static readonly ProvidersOptions Providers = new()
    {
        ["gemini"] = new ProviderOptions { Kind = ProviderKind.Gemini, BaseUrl = new Uri("http://sim/gemini") },
        ["openai"] = new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri("http://sim/openai") },
        ["local"] = new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri("http://sim/local") },
    };

    private static readonly ChainsOptions Chains = new()
    {
        ["default"] = [Step("gemini", "gemini-2.5-pro"), Step("openai", "o3-mini")],
        ["fast"] = [Step("gemini", "gemini-2.5-flash"), Step("openai", "gpt-4o-mini")],
    };

    private static readonly RoutingOptions Routing = new()
    {
        Routes = new(StringComparer.OrdinalIgnoreCase) { ["trivial"] = "fast", ["draft"] = "fast", ["trivial_critical"] = "default" },
    };

    private readonly RouteFigures _figures = new();

    private static ChainStepOptions Step(string provider, string model) => new() { Provider = provider, Model = model, MaxRetries = 1 };

    private readonly Dictionary<string, double> _quotaLeft = [];

    private Router Router() => Guards.Router(new ChainCatalog(Options.Create(Chains), Options.Create(Providers)), Routing, Providers, _figures,
        pricing: new PricingOptions { ["gemini-2.5-pro"] = new() { InputPerMillion = 1.25m, OutputPerMillion = 10m } }, quotas: new Quotas(_quotaLeft));

    private sealed class Quotas(Dictionary<string, double> left) : IQuotaView
    {
        public double? RemainingFraction(string provider, string model) => left.TryGetValue($"{provider}/{model}", out var f) ? f : null;
    }

    private static CompletionRequested Request(RouteHints? route = null, string? chain = null) =>
        new(Guid.NewGuid(), null, [new ChatMessage("user", "hi")], Chain: chain, Route: route);

    private static List<string> Order(RoutedChain routed) => [.. routed.Steps.Select(s => $"{s.Provider}/{s.Model}")];

    [Fact]
    public void A_request_without_hints_runs_the_default_chain_as_configured()
    {
        var routed = Router().Route(Request());

        Assert.Equal(["gemini/gemini-2.5-pro", "openai/o3-mini"], Order(routed));
        Assert.Equal("chain:default", routed.Decision.Tier);
        Assert.Equal(Order(routed), routed.Decision.Candidates);
        Assert.Contains("no route hints", routed.Decision.Reason);
    }

    [Fact]
    public void A_named_chain_wins_over_route_hints()
    {
        var routed = Router().Route(Request(new RouteHints(Complexity: "trivial"), chain: "default"));

        Assert.Equal("chain:default", routed.Decision.Tier);
        Assert.Equal("gemini/gemini-2.5-pro", routed.Steps[0].Provider + "/" + routed.Steps[0].Model);
    }

    [Theory]
    [InlineData("trivial", null, "trivial", "gemini/gemini-2.5-flash")]
    [InlineData("trivial", "critical", "trivial_critical", "gemini/gemini-2.5-pro")]
    [InlineData("trivial", "production", "trivial", "gemini/gemini-2.5-flash")]
    [InlineData("moderate", "draft", "draft", "gemini/gemini-2.5-flash")]
    [InlineData("expert", "critical", "default", "gemini/gemini-2.5-pro")]
    [InlineData(null, null, "default", "gemini/gemini-2.5-pro")]
    public void The_most_specific_route_key_picks_the_chain(string? complexity, string? quality, string tier, string first)
    {
        var routed = Router().Route(Request(new RouteHints(complexity, quality)));

        Assert.Equal(tier, routed.Decision.Tier);
        Assert.Equal(first, routed.Decision.Candidates[0]);
        Assert.Equal([0, 1], routed.Steps.Select(s => s.Index));
    }

    [Fact]
    public void A_forced_provider_goes_first_and_the_rest_stay_as_fallbacks()
    {
        var routed = Router().Route(Request(new RouteHints(Complexity: "trivial", Provider: "openai")));

        Assert.Equal(["openai/gpt-4o-mini", "gemini/gemini-2.5-flash"], Order(routed));
        Assert.Contains("openai/gpt-4o-mini forced first", routed.Decision.Reason);
        Assert.Equal([0, 1], routed.Steps.Select(s => s.Index));
    }

    [Fact]
    public void Without_fallback_only_the_forced_provider_and_model_run()
    {
        var routed = Router().Route(Request(new RouteHints(Provider: "local", Model: "llama-3.1-8b", FallbackAllowed: false)));

        var step = Assert.Single(routed.Steps);
        Assert.Equal(("local", "llama-3.1-8b", 0), (step.Provider, step.Model, step.Index));
        Assert.Contains("no fallback", routed.Decision.Reason);
    }

    [Fact]
    public void A_forced_model_from_another_chain_keeps_that_steps_settings()
    {
        var routed = Router().Route(Request(new RouteHints(Complexity: "trivial", Model: "o3-mini")));

        Assert.Equal(["openai/o3-mini", "gemini/gemini-2.5-flash", "openai/gpt-4o-mini"], Order(routed));
        Assert.Equal(1, routed.Steps[0].MaxRetries);
    }

    [Fact]
    public void Live_figures_move_a_failing_candidate_behind_a_healthy_one_and_say_why()
    {
        _figures.Update([Figures("gemini", "gemini-2.5-flash", calls: 100, errors: 45), Figures("openai", "gpt-4o-mini", calls: 100, errors: 1)]);

        var routed = Router().Route(Request(new RouteHints(Complexity: "trivial")));

        Assert.Equal(["openai/gpt-4o-mini", "gemini/gemini-2.5-flash"], Order(routed));
        Assert.Contains("reordered by live figures", routed.Decision.Reason);
        Assert.Contains("errors 45", routed.Decision.Reason);
    }

    [Fact]
    public void A_candidate_whose_quota_is_spent_goes_after_the_others()
    {
        _quotaLeft["gemini/gemini-2.5-flash"] = 0;

        var routed = Router().Route(Request(new RouteHints(Complexity: "trivial")));

        Assert.Equal(["openai/gpt-4o-mini", "gemini/gemini-2.5-flash"], Order(routed));
        Assert.Contains("quota left 0", routed.Decision.Reason);
    }

    [Fact]
    public void A_restored_decision_keeps_its_order_whatever_the_figures_say_now()
    {
        var first = Router().Route(Request(new RouteHints(Complexity: "trivial")));
        _figures.Update([Figures("gemini", "gemini-2.5-flash", calls: 100, errors: 90)]);

        var restored = Router().Restore(Request(new RouteHints(Complexity: "trivial")), first.Decision);

        Assert.NotNull(restored);
        Assert.Equal(Order(first), Order(restored));
        Assert.Same(first.Decision, restored.Decision);
    }

    [Fact]
    public void A_restored_decision_naming_an_unknown_provider_is_dropped()
    {
        var decision = new RouteDecision("trivial", ["gone/model-x"], "earlier");

        Assert.Null(Router().Restore(Request(new RouteHints(Complexity: "trivial")), decision));
    }

    [Theory]
    [InlineData("hard", null, null, null, null, null, "route.complexity 'hard' is not one of trivial, simple, moderate, complex, expert")]
    [InlineData(null, "perfect", null, null, null, null, "route.quality 'perfect' is not one of draft, production, critical")]
    [InlineData(null, null, "0", null, null, null, "route.maxCostUsd must be a number above 0, was 0")]
    [InlineData(null, null, null, "anthropic", null, null, "route.provider 'anthropic' is not a configured provider; configured: gemini, openai, local")]
    [InlineData(null, null, null, null, "gpt-9", null, "route.model 'gpt-9' is not served by any configured chain; name route.provider too")]
    [InlineData(null, null, null, "local", null, null, "route.provider 'local' has no model in any configured chain; name route.model too")]
    [InlineData(null, null, null, null, null, false, "route.fallbackAllowed is false but no route.provider or route.model is forced")]
    public void Invalid_route_hints_are_named(string? complexity, string? quality, string? maxCost, string? provider, string? model, bool? fallback,
        string problem)
    {
        var hints = new RouteHints(complexity, quality, maxCost is null ? null : double.Parse(maxCost, System.Globalization.CultureInfo.InvariantCulture),
            provider, model, fallback);

        Assert.Equal(problem, Router().Problem(Request(hints)));
    }

    [Fact]
    public void A_blank_tenant_is_named()
    {
        Assert.Equal("tenant must be 1 to 128 characters, was blank", Router().Problem(Request() with { Tenant = " " }));
        Assert.Null(Router().Problem(Request() with { Tenant = "acme" }));
    }

    private static HealthFigures Figures(string provider, string model, long calls, long errors) =>
        HealthFigures.None(new ProviderModel(provider, model)) with { Calls = calls, Errors = errors, OkCalls = calls - errors };
}
