using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Gemini;
using Worker.Tests.Fakes;
using Worker.Tests.Providers;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Chain;

/// <summary>
/// Per-class retry policies and per-chain actions, through the catalog that resolves them as at start: how many retries
/// each class gets, how long each wait is, and which overrides win. Jitter is fixed at its middle (no spread).
/// </summary>
public class RetryPolicyRunTests
{
    private readonly DrivenTimeProvider _time = new();

    private static CompletionRequested Request() => new(Guid.NewGuid(), "conv-1", [new ChatMessage("user", "hi")]);

    /// <summary>gemini then openai, neither setting a step-wide retry setting unless <paramref name="primary"/> does.</summary>
    private static IReadOnlyList<ChainStep> Steps(RetryOptions? retry = null, ChainPoliciesOptions? policies = null, Action<ChainStepOptions>? primary = null)
    {
        var first = new ChainStepOptions { Provider = "gemini", Model = "gemini-model" };
        primary?.Invoke(first);
        var chains = new ChainsOptions { [ChainsOptions.DefaultChain] = [first, new ChainStepOptions { Provider = "openai", Model = "openai-model" }] };
        var catalog = new ChainCatalog(Options.Create(chains), Options.Create(new ProvidersOptions()), Options.Create(retry ?? new RetryOptions()),
            Options.Create(policies ?? new ChainPoliciesOptions()));
        Assert.True(catalog.TryGet(null, out var steps));
        return steps;
    }

    /// <param name="deferral">Off by default: every wait happens in the run, so the fake clock shows each one.</param>
    private Task<ChainOutcome> Run(IReadOnlyList<ChainStep> steps, ICompletionProvider[] providers, bool deferral = false, ChainStart? start = null)
    {
        var options = deferral ? new ChainRunOptions { InProcessWaitLimit = TimeSpan.FromSeconds(5), MaxDeferral = TimeSpan.FromMinutes(10) } : null;
        var runner = new ChainRunner(new FakeRegistry(providers), Guards.Breakers(_time), Guards.Budgets(_time), Guards.ChainRun(options), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));
        return _time.Drive(Task.Run(() => runner.RunAsync(Request(), steps, start ?? ChainStart.Beginning, CancellationToken.None)));
    }

    private static double[] Waits(ChainOutcome outcome, int step = 0) =>
        [.. outcome.Attempts.Where(a => a.StepIndex == step && a.Decision == Decision.Retried).Select(a => a.Wait!.Value.TotalSeconds)];

    [Theory]
    [InlineData(ErrorClass.RateLimited, new[] { 5.0, 15.0 })] // 2 retries, 5 s tripled
    [InlineData(ErrorClass.Server, new[] { 2.0, 4.0, 8.0 })] // 3 retries, 2 s doubled
    [InlineData(ErrorClass.Network, new[] { 1.0, 2.0, 4.0, 8.0, 16.0 })] // 5 retries, 1 s doubled
    public async Task Each_class_gets_its_default_retries_and_delays_then_falls_back(ErrorClass errorClass, double[] waits)
    {
        var gemini = new ScriptedProvider("gemini", Fail(errorClass, 500));
        var openai = new ScriptedProvider("openai", Ok("from openai"));
        var started = _time.GetUtcNow();

        var outcome = await Run(Steps(), [gemini, openai]);

        Assert.Equal("from openai", outcome.Answer!.Text);
        Assert.Equal(waits.Length + 1, gemini.Calls);
        Assert.Equal(waits, Waits(outcome));
        Assert.Equal(TimeSpan.FromSeconds(waits.Sum()), _time.GetUtcNow() - started);
        Assert.Equal($"{waits.Length} retries spent", outcome.Attempts.Single(a => a.Decision == Decision.FellBack).Note);
    }

    [Fact]
    public async Task The_rate_limit_delays_stop_at_their_two_minute_cap()
    {
        var retry = new RetryOptions { ["rate_limit"] = new() { MaxRetries = 4 } };
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429));

        var outcome = await Run(Steps(retry), [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal([5.0, 15.0, 45.0, 120.0], Waits(outcome));
    }

    [Fact]
    public async Task Each_class_counts_its_own_retries_on_one_step()
    {
        // Under one step-wide limit of 2 this would have fallen back after the third call.
        var gemini = new ScriptedProvider("gemini",
            Fail(ErrorClass.Server, 503), Fail(ErrorClass.Server, 503), Fail(ErrorClass.RateLimited, 429), Fail(ErrorClass.RateLimited, 429),
            Fail(ErrorClass.Server, 503), Ok("from gemini"));

        var outcome = await Run(Steps(), [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal("from gemini", outcome.Answer!.Text);
        Assert.Equal(6, gemini.Calls);
        Assert.Equal([2.0, 4.0, 5.0, 15.0, 8.0], Waits(outcome));
        Assert.Equal(["retry 1 of 3", "retry 2 of 3", "retry 1 of 2", "retry 2 of 2", "retry 3 of 3"],
            outcome.Attempts.Where(a => a.Decision == Decision.Retried).Select(a => a.Note));
    }

    [Fact]
    public async Task A_factor_of_one_keeps_the_delays_fixed_as_the_old_system_did()
    {
        var retry = new RetryOptions { ["rate_limit"] = new() { MaxRetries = 2, BaseDelay = TimeSpan.FromSeconds(5), Factor = 1, JitterRatio = 0 } };
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429));

        var outcome = await Run(Steps(retry), [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal([5.0, 5.0], Waits(outcome));
        Assert.Equal(3, gemini.Calls);
    }

    [Fact]
    public async Task A_step_override_wins_over_its_chain_and_the_retry_section()
    {
        var retry = new RetryOptions { ["server"] = new() { MaxRetries = 5, Factor = 1 } };
        var policies = new ChainPoliciesOptions { ["default"] = new() { Retry = { ["server"] = new() { MaxRetries = 4, BaseDelay = TimeSpan.FromSeconds(3) } } } };
        var steps = Steps(retry, policies, s => s.Retry["server"] = new() { MaxRetries = 1 });
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));

        var outcome = await Run(steps, [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal(new RetryPolicy(1, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30), 1, 0.2), steps[0].PolicyFor(ErrorClass.Server));
        Assert.Equal(new RetryPolicy(4, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30), 1, 0.2), steps[1].PolicyFor(ErrorClass.Server));
        Assert.Equal([3.0], Waits(outcome));
        Assert.Equal(2, gemini.Calls);
    }

    [Fact]
    public async Task A_step_with_step_wide_settings_keeps_one_doubling_policy_for_every_class_counted_together()
    {
        var retry = new RetryOptions { ["network"] = new() { MaxRetries = 5 } };
        var steps = Steps(retry, primary: s => s.MaxRetries = 2);
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503), Fail(ErrorClass.Network), Fail(ErrorClass.RateLimited, 429));

        var outcome = await Run(steps, [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Null(steps[0].Retries);
        Assert.Equal(new RetryPolicy(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 2, 0.2), steps[0].PolicyFor(ErrorClass.Network));
        Assert.Equal([5.0, 10.0], Waits(outcome));
        Assert.Equal(3, gemini.Calls);
    }

    [Fact]
    public async Task A_chain_may_fall_back_at_once_on_a_server_error()
    {
        var policies = new ChainPoliciesOptions { ["default"] = new() { Actions = { ["server"] = "FallBack" } } };
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Ok("from openai"));
        var started = _time.GetUtcNow();

        var outcome = await Run(Steps(policies: policies), [gemini, openai]);

        Assert.Equal("from openai", outcome.Answer!.Text);
        Assert.Equal((1, 1), (gemini.Calls, openai.Calls));
        Assert.Equal(started, _time.GetUtcNow());
        Assert.Equal((Decision.FellBack, "server is not retried on the same step"), (outcome.Attempts[0].Decision, outcome.Attempts[0].Note));
    }

    [Fact]
    public async Task A_chain_may_fall_back_on_an_invalid_request_instead_of_failing_it()
    {
        var policies = new ChainPoliciesOptions { ["default"] = new() { Actions = { ["invalid_request"] = "FallBack" } } };
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.InvalidRequest, 400));
        var openai = new ScriptedProvider("openai", Ok("from openai"));

        var outcome = await Run(Steps(policies: policies), [gemini, openai]);

        Assert.Equal("from openai", outcome.Answer!.Text);
        Assert.Null(outcome.FailureReason);
    }

    [Fact]
    public async Task A_chain_may_retry_a_timeout_with_the_server_defaults()
    {
        var policies = new ChainPoliciesOptions { ["default"] = new() { Actions = { ["timeout"] = "Retry" } } };
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Timeout), Ok("from gemini"));

        var outcome = await Run(Steps(policies: policies), [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal("from gemini", outcome.Answer!.Text);
        Assert.Equal([2.0], Waits(outcome));
    }

    [Fact]
    public async Task A_long_server_backoff_is_deferred_and_the_resumed_run_knows_its_retries_are_spent()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Ok("from openai"));
        var steps = Steps();

        var deferred = await Run(steps, [gemini, openai], deferral: true);

        var deferral = Assert.IsType<ChainDeferral>(deferred.Deferral);
        Assert.Equal((0, 4, DeferralKinds.Retry), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.Equal("retry 3 of 3 deferred: backoff 8 s", deferred.Attempts[^1].Note);

        var resumed = await Run(steps, [gemini, openai], deferral: true, new ChainStart(deferral.StepIndex, deferral.Attempt, 3, deferral.DeferralStartedAt));

        Assert.Equal("from openai", resumed.Answer!.Text);
        Assert.Equal(4, gemini.Calls);
        Assert.Equal("3 retries spent", resumed.Attempts[0].Note);
    }

    [Theory]
    [InlineData(ErrorClass.RateLimited, Decision.FellBack)] // 2 calls before the deferral are charged to it too: its 2 retries are spent
    [InlineData(ErrorClass.Server, Decision.Retried)] // 3 allowed: one left
    public async Task A_resumed_run_charges_the_calls_before_its_deferral_to_every_class(ErrorClass errorClass, Decision decision)
    {
        var gemini = new ScriptedProvider("gemini", Fail(errorClass, 500), Ok());

        var outcome = await Run(Steps(), [gemini, new ScriptedProvider("openai", Ok())], start: new ChainStart(0, 3, 2, _time.GetUtcNow()));

        Assert.Equal(decision, outcome.Attempts[0].Decision);
    }

    [Fact]
    public async Task A_ninety_second_retry_after_is_deferred_not_waited_in_the_consumer()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(90)));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Steps(), [gemini, openai], deferral: true);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.Equal((0, 2, DeferralKinds.Retry), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.Equal(started + TimeSpan.FromSeconds(99), deferral.ResumeAt); // 90 s and half the 20 % jitter
        Assert.Equal(started, _time.GetUtcNow());
        Assert.Equal((1, 0), (gemini.Calls, openai.Calls));
    }

    [Theory]
    [InlineData("3s", 3.3)]
    [InlineData("45s", 49.5)] // above the old 30 s MaxRetryAfter: waited now, not fallen back from
    public async Task A_gemini_per_minute_quota_is_retried_after_its_retry_delay(string retryDelay, double seconds)
    {
        var details = $$"""
            [{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaValue":"10"}]},
             {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{{retryDelay}}"}]
            """;
        var calls = 0;
        var handler = new StubHandler(() => ++calls == 1
            ? StubHandler.JsonResponse(429, $$$"""{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":{{{details}}}}}""")
            : StubHandler.JsonResponse(200, """{"candidates":[{"content":{"parts":[{"text":"after the quota"}]},"finishReason":"STOP"}]}"""));
        var gemini = new GeminiProvider("gemini",
            new ProviderOptions { Kind = ProviderKind.Gemini, BaseUrl = new Uri("https://gemini.test"), ApiKey = "k", Timeout = TimeSpan.FromSeconds(30) },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, _time);
        var started = _time.GetUtcNow();

        var outcome = await Run(Steps(), [gemini, new ScriptedProvider("openai", Ok())]);

        Assert.Equal("after the quota", outcome.Answer!.Text);
        Assert.Equal(2, handler.Calls);
        // When the second call started, not the clock at the end: a real provider's parsing on a loaded machine may let the
        // driven clock run on to a later timer after the answer.
        Assert.Equal(started + TimeSpan.FromSeconds(seconds), outcome.Attempts[1].StartedAt);
        Assert.Equal(TimeSpan.FromSeconds(seconds), outcome.Attempts[0].Wait);
    }
}
