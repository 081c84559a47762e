using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Chain;

public class ChainRunnerTests
{
    private readonly DrivenTimeProvider _time = new();

    private static ChainStep Step(int index, string provider, int maxRetries = 2, double seconds = 5, TimeSpan? timeout = null) =>
        new(index, provider, provider + "-model", maxRetries, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(30),
            JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(30), timeout ?? TimeSpan.FromSeconds(20));

    private static readonly ChainStep[] TwoSteps = [Step(0, "gemini"), Step(1, "openai")];

    private static CompletionRequested Request(DateTimeOffset? deadline = null) =>
        new(Guid.NewGuid(), "conv-1", [new ChatMessage("user", "hi")], Deadline: deadline);

    private Task<ChainOutcome> Run(CompletionRequested request, IReadOnlyList<ChainStep> steps, params ScriptedProvider[] providers) =>
        Run(Runner(providers), request, steps);

    private Task<ChainOutcome> Run(ChainRunner runner, CompletionRequested request, IReadOnlyList<ChainStep> steps) =>
        // Task.Run: no test SynchronizationContext is captured, so continuations run inline as the clock advances.
        _time.Drive(Task.Run(() => runner.RunAsync(request, steps, CancellationToken.None)));

    private ChainRunner Runner(ScriptedProvider[] providers, CircuitBreakers? breakers = null, RateBudgets? budgets = null) =>
        new(new FakeRegistry(providers), breakers ?? Guards.Breakers(_time), budgets ?? Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));

    [Fact]
    public async Task Healthy_primary_answers_with_one_call_and_no_fallback()
    {
        var gemini = new ScriptedProvider("gemini", Ok("from gemini"));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal("from gemini", outcome.Answer!.Text);
        Assert.False(outcome.FallbackUsed);
        Assert.Equal(1, gemini.Calls);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(Decision.Answered, Assert.Single(outcome.Attempts).Decision);
    }

    [Fact]
    public async Task Server_error_then_success_retries_once_after_the_base_delay()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 500), Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(), TwoSteps, gemini, new ScriptedProvider("openai", Ok()));

        Assert.True(outcome.Succeeded);
        Assert.False(outcome.FallbackUsed);
        Assert.Equal(2, gemini.Calls);
        Assert.Equal([Decision.Retried, Decision.Answered], outcome.Attempts.Select(a => a.Decision));
        // Random 0.5 puts the jitter at its midpoint, so the wait is exactly the base delay.
        Assert.Equal(TimeSpan.FromSeconds(5), outcome.Attempts[0].Wait);
        Assert.Equal(TimeSpan.FromSeconds(5), _time.GetUtcNow() - started);
    }

    [Fact]
    public async Task Persistent_503_spends_the_retries_then_falls_back()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Ok("from openai"));

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.FallbackUsed);
        Assert.Equal("openai", outcome.AnsweredBy!.Provider);
        Assert.Equal(3, gemini.Calls);
        Assert.Equal(1, openai.Calls);
        Assert.Equal(4, outcome.CallCount);
        Assert.Equal([Decision.Retried, Decision.Retried, Decision.FellBack, Decision.Answered], outcome.Attempts.Select(a => a.Decision));
        // Exponential: 5 s then 10 s.
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)], outcome.Attempts.Take(2).Select(a => a.Wait!.Value));
        Assert.All(outcome.Attempts.Take(3), a => Assert.Equal(ErrorClass.Server, a.ErrorClass));
    }

    [Fact]
    public async Task Rate_limit_waits_at_least_the_retry_after()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(7)), Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(), TwoSteps, gemini, new ScriptedProvider("openai", Ok()));

        Assert.True(outcome.Succeeded);
        Assert.Equal(2, gemini.Calls);
        var waited = _time.GetUtcNow() - started;
        Assert.InRange(waited, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(7 * 1.2));
        Assert.Equal(TimeSpan.FromSeconds(7), outcome.Attempts[0].RetryAfter);
    }

    [Fact]
    public async Task Retry_after_longer_than_the_step_allows_falls_back_without_waiting()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromMinutes(2)));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        Assert.True(outcome.FallbackUsed);
        Assert.Equal(1, gemini.Calls);
        Assert.Equal(started, _time.GetUtcNow());
        Assert.Equal(Decision.FellBack, outcome.Attempts[0].Decision);
    }

    [Fact]
    public async Task Hanging_provider_times_out_and_falls_back_as_a_classified_timeout()
    {
        var gemini = new ScriptedProvider("gemini", Hang(_time));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(), [Step(0, "gemini", timeout: TimeSpan.FromSeconds(3)), Step(1, "openai")], gemini, openai);

        Assert.True(outcome.FallbackUsed);
        Assert.Equal(1, gemini.Calls);
        Assert.Equal(ErrorClass.Timeout, outcome.Attempts[0].ErrorClass);
        Assert.Equal(Decision.FellBack, outcome.Attempts[0].Decision);
        Assert.Equal(TimeSpan.FromSeconds(3), _time.GetUtcNow() - started);
    }

    [Theory]
    [InlineData(ErrorClass.Auth)]
    [InlineData(ErrorClass.ContentBlocked)]
    public async Task Non_retryable_classes_fall_back_after_one_call(ErrorClass errorClass)
    {
        var gemini = new ScriptedProvider("gemini", Fail(errorClass));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        Assert.True(outcome.FallbackUsed);
        Assert.Equal(1, gemini.Calls);
    }

    [Fact]
    public async Task Invalid_request_fails_without_trying_the_next_provider()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.InvalidRequest, 400));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        Assert.False(outcome.Succeeded);
        Assert.Equal(FailureReasons.InvalidRequest, outcome.FailureReason);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(Decision.GaveUp, Assert.Single(outcome.Attempts).Decision);
    }

    [Fact]
    public async Task Every_step_down_ends_providers_exhausted_with_every_call_recorded()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Fail(ErrorClass.Network));

        var outcome = await Run(Request(), TwoSteps, gemini, openai);

        // Three calls per step, then one last chance on each before giving up.
        Assert.Equal(FailureReasons.ProvidersExhausted, outcome.FailureReason);
        Assert.Equal(8, outcome.CallCount);
        Assert.Equal([ChainRunner.LastChanceNote, ChainRunner.LastChanceNote], outcome.Attempts.TakeLast(2).Select(a => a.Note));
        Assert.Equal([Decision.GaveUp, Decision.GaveUp], outcome.Attempts.TakeLast(2).Select(a => a.Decision));
        Assert.Contains("gemini/gemini-model: server (HTTP 503) x4", outcome.Error);
        Assert.Contains("openai/openai-model: network x4", outcome.Error);
    }

    [Fact]
    public async Task Content_blocked_everywhere_is_its_own_reason()
    {
        var outcome = await Run(Request(), TwoSteps,
            new ScriptedProvider("gemini", Fail(ErrorClass.ContentBlocked)),
            new ScriptedProvider("openai", Fail(ErrorClass.ContentBlocked)));

        Assert.Equal(FailureReasons.ContentBlocked, outcome.FailureReason);
    }

    [Fact]
    public async Task Past_deadline_fails_at_once_without_a_call()
    {
        var gemini = new ScriptedProvider("gemini", Ok());

        var outcome = await Run(Request(_time.GetUtcNow().AddSeconds(-1)), TwoSteps, gemini, new ScriptedProvider("openai", Ok()));

        Assert.Equal(FailureReasons.DeadlineExceeded, outcome.FailureReason);
        Assert.Equal(0, gemini.Calls);
        Assert.Empty(outcome.Attempts);
    }

    [Fact]
    public async Task Backoff_that_would_cross_the_deadline_falls_back_instead_of_waiting()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 500));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(started.AddSeconds(3)), TwoSteps, gemini, openai);

        Assert.True(outcome.FallbackUsed);
        Assert.Equal(1, gemini.Calls);
        Assert.Equal(started, _time.GetUtcNow());
        Assert.StartsWith("no time left before the deadline", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Attempt_timeout_is_cut_to_the_time_left_and_then_the_deadline_ends_the_chain()
    {
        var gemini = new ScriptedProvider("gemini", Hang(_time));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Request(started.AddSeconds(2)), TwoSteps, gemini, openai);

        Assert.Equal(FailureReasons.DeadlineExceeded, outcome.FailureReason);
        Assert.Equal(TimeSpan.FromSeconds(2), _time.GetUtcNow() - started);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(Decision.Skipped, outcome.Attempts[^1].Decision);
        Assert.Equal("skipped: deadline", outcome.Attempts[^1].Note);
    }

    [Fact]
    public async Task Shutdown_cancellation_propagates_instead_of_becoming_a_timeout()
    {
        using var shutdown = new CancellationTokenSource();
        var runner = Runner([new ScriptedProvider("gemini", Hang(_time))]);

        var run = runner.RunAsync(Request(), [Step(0, "gemini")], shutdown.Token);
        await shutdown.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }
}
