using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Requests;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Pipeline;

/// <summary>
/// Route hints end to end, with the shipped routes (appsettings.json: trivial work on the fast chain): where the request
/// went and why is on the result and in the audit row, and a budget holds before any call is made.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class RoutingTests(PipelineFixture fixture) : IDisposable
{
    private readonly PipelineFixture _f = Reset(fixture);

    private static PipelineFixture Reset(PipelineFixture fixture)
    {
        fixture.Sim.Clear();
        return fixture;
    }

    private long Calls(string target) => _f.Sim.GetCounters(target).Total;

    private static CompletionRequested Routed(RouteHints route) => TestProducer.NewRequest() with { Route = route };

    [Fact]
    public async Task Trivial_work_goes_to_the_fast_chain_and_the_result_says_where_and_why()
    {
        var request = Routed(new RouteHints(Complexity: RouteComplexity.Trivial, Quality: RouteQuality.Draft));

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        Assert.Equal(("gemini", "gemini-2.5-flash"), (result.Provider, result.Model));
        Assert.NotNull(result.Route);
        Assert.Equal("trivial", result.Route.Tier);
        Assert.Equal(["gemini/gemini-2.5-flash", "openai/gpt-4o-mini"], result.Route.Candidates);
        Assert.Contains("route 'trivial' -> chain 'fast'", result.Route.Reason);
        Assert.True(result.CostUsd > 0, "flash is priced, and the simulator reports tokens");

        var stored = await StoredRouteAsync(request.RequestId);
        Assert.Equal(result.Route.Candidates, stored!.Candidates);
        Assert.Equal(result.Route.Reason, stored.Reason);
    }

    [Fact]
    public async Task A_request_without_hints_keeps_the_default_chain_and_reports_it()
    {
        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("gemini-2.5-pro", result.Model);
        Assert.Equal("chain:default", result.Route!.Tier);
    }

    [Fact]
    public async Task A_forced_provider_answers_first_and_is_not_a_fallback()
    {
        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(Routed(new RouteHints(Complexity: RouteComplexity.Trivial, Provider: "openai")));

        Assert.Equal(("openai", "gpt-4o-mini"), (result.Provider, result.Model));
        Assert.False(result.FallbackUsed);
        Assert.Equal(0, Calls("gemini"));
        Assert.Contains("openai/gpt-4o-mini forced first", result.Route!.Reason);
    }

    [Fact]
    public async Task A_forced_provider_without_fallback_fails_alone()
    {
        // 503, not 401: an auth failure holds the breaker open for the tests after this one.
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("503"));

        var result = await _f.Producer.RequestAsync<CompletionFailed>(
            Routed(new RouteHints(Provider: "openai", Model: "o3-mini", FallbackAllowed: false)));

        Assert.Equal(FailureReasons.ProvidersExhausted, result.Reason);
        Assert.Equal(["openai/o3-mini"], result.Route!.Candidates);
        Assert.Equal(0, Calls("gemini"));
        // o3-mini's step in the default chain: the call, its one retry, and the last chance.
        Assert.Equal(3, Calls("openai"));
        Assert.Equal(3, result.Attempts);
    }

    [Fact]
    public async Task A_budget_no_provider_fits_fails_budget_exceeded_without_a_call()
    {
        var request = Routed(new RouteHints(Complexity: RouteComplexity.Expert, MaxCostUsd: 0.000001)) with { MaxOutputTokens = 4000 };

        var result = await _f.Producer.RequestAsync<CompletionFailed>(request);

        Assert.Equal(FailureReasons.BudgetExceeded, result.Reason);
        Assert.Equal(0, result.Attempts);
        Assert.False(result.DeadLettered);
        Assert.Equal(0.0, result.CostUsd);
        Assert.Contains("passes maxCostUsd", result.Error);
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    [Fact]
    public async Task Invalid_route_hints_are_refused_naming_the_field()
    {
        var result = await _f.Producer.RequestAsync<CompletionFailed>(Routed(new RouteHints(Complexity: "hard")));

        Assert.Equal(FailureReasons.InvalidRequest, result.Reason);
        Assert.StartsWith("route.complexity 'hard' is not one of", result.Error);
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    private static async Task<RouteDecision?> StoredRouteAsync(Guid requestId)
    {
        await using var database = NpgsqlDataSource.Create(TestEnvironment.Postgres);
        await using var command = database.CreateCommand("SELECT route::text FROM requests WHERE request_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = requestId });
        return StoredJson.ReadRoute(await command.ExecuteScalarAsync() as string);
    }

    public void Dispose() => _f.Sim.Clear();
}
