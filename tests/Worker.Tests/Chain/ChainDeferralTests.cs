using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Chain;

/// <summary>
/// Long waits leave the run as a deferral (durable, outside the consumer) instead of a sleep; short ones stay in the run.
/// Deadlines and Chain:MaxDeferral bound deferral; MinTimeToAnswer keeps a step from starting without time to answer.
/// </summary>
public class ChainDeferralTests
{
    private readonly DrivenTimeProvider _time = new();

    private static ChainStep Step(int index, string provider, int maxRetries = 2, double baseSeconds = 1, double maxRetryAfterSeconds = 90) =>
        new(index, provider, provider + "-model", maxRetries, TimeSpan.FromSeconds(baseSeconds), TimeSpan.FromSeconds(60),
            JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(maxRetryAfterSeconds), TimeSpan.FromSeconds(20));

    private static readonly ChainStep[] TwoSteps = [Step(0, "gemini"), Step(1, "openai")];

    private static CompletionRequested Request(DateTimeOffset? deadline = null) =>
        new(Guid.NewGuid(), "conv-1", [new ChatMessage("user", "hi")], Deadline: deadline);

    private static ChainRunOptions Deferring => new() { InProcessWaitLimit = TimeSpan.FromSeconds(5), MaxDeferral = TimeSpan.FromMinutes(10) };

    private ChainRunner Runner(ScriptedProvider[] providers, ChainRunOptions? options = null, CircuitBreakers? breakers = null, RateBudgets? budgets = null) =>
        new(new FakeRegistry(providers), breakers ?? Guards.Breakers(_time), budgets ?? Guards.Budgets(_time), Guards.ChainRun(options ?? Deferring), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));

    private Task<ChainOutcome> Run(ChainRunner runner, CompletionRequested request, IReadOnlyList<ChainStep> steps, ChainStart? start = null) =>
        _time.Drive(Task.Run(() => runner.RunAsync(request, steps, start ?? ChainStart.Beginning, CancellationToken.None)));

    [Fact]
    public async Task Retry_after_of_a_minute_is_deferred_to_resume_on_the_same_step_without_waiting()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        var openai = new ScriptedProvider("openai", Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Runner([gemini, openai]), Request(), TwoSteps);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.False(outcome.Succeeded);
        Assert.Null(outcome.FailureReason);
        Assert.Equal((0, 2, DeferralKinds.Retry), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        // Never earlier than asked: 60 s plus the jitter (0.2 x 0.5).
        Assert.Equal(started + TimeSpan.FromSeconds(66), deferral.ResumeAt);
        Assert.Equal(started, deferral.DeferralStartedAt);
        Assert.Equal(started, _time.GetUtcNow());
        Assert.Equal((1, 0), (gemini.Calls, openai.Calls));
        var attempt = Assert.Single(outcome.Attempts);
        Assert.Equal((Decision.Deferred, TimeSpan.FromSeconds(66)), (attempt.Decision, attempt.Wait));
        Assert.Contains("Retry-After 60 s", attempt.Note);
    }

    [Fact]
    public async Task Short_retry_after_is_still_waited_in_the_run()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(2)), Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Runner([gemini, new ScriptedProvider("openai", Ok())]), Request(), TwoSteps);

        Assert.True(outcome.Succeeded);
        Assert.Null(outcome.Deferral);
        Assert.Equal(TimeSpan.FromSeconds(2.2), _time.GetUtcNow() - started);
    }

    [Fact]
    public async Task Retry_after_above_max_retry_after_still_falls_back_at_once()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromMinutes(5)));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Runner([gemini, openai]), Request(), TwoSteps);

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.FallbackUsed);
        Assert.Equal(Decision.FellBack, outcome.Attempts[0].Decision);
    }

    [Fact]
    public async Task Long_backoff_is_deferred_too()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var steps = new[] { Step(0, "gemini", baseSeconds: 8), Step(1, "openai") };

        var outcome = await Run(Runner([gemini, new ScriptedProvider("openai", Ok())]), Request(), steps);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.Equal((0, 2, DeferralKinds.Retry), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.Contains("backoff 8 s", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Resumed_run_starts_at_the_stored_step_and_attempt_and_counts_earlier_calls()
    {
        var gemini = new ScriptedProvider("gemini", Ok("late answer"));
        var openai = new ScriptedProvider("openai", Ok());
        var firstDeferral = _time.GetUtcNow().AddMinutes(-1);

        var outcome = await Run(Runner([gemini, openai]), Request(), TwoSteps, new ChainStart(0, 2, 1, firstDeferral));

        Assert.True(outcome.Succeeded);
        Assert.Equal("late answer", outcome.Answer!.Text);
        var attempt = Assert.Single(outcome.Attempts);
        Assert.Equal((0, 2), (attempt.StepIndex, attempt.Attempt));
        Assert.Equal((1, 1, 2), (outcome.PriorCalls, outcome.CallCount, outcome.TotalCalls));
    }

    [Fact]
    public async Task Resumed_run_on_its_last_retry_falls_back_when_it_fails_again()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        var openai = new ScriptedProvider("openai", Ok());

        // Attempt 3 of a step with 2 retries: nothing left to retry, so no further deferral.
        var outcome = await Run(Runner([gemini, openai]), Request(), TwoSteps, new ChainStart(0, 3, 2, _time.GetUtcNow()));

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.FallbackUsed);
        Assert.Equal(4, outcome.TotalCalls);
    }

    [Fact]
    public async Task Deferral_that_would_cross_the_deadline_falls_back_instead()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Runner([gemini, openai]), Request(_time.GetUtcNow().AddSeconds(30)), TwoSteps);

        Assert.Null(outcome.Deferral);
        Assert.True(outcome.FallbackUsed);
        Assert.StartsWith("no time left before the deadline", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Deferral_past_max_deferral_falls_back_instead()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        var openai = new ScriptedProvider("openai", Ok());
        var deferredSince = _time.GetUtcNow().AddMinutes(-9.5);

        var outcome = await Run(Runner([gemini, openai]), Request(), TwoSteps, new ChainStart(0, 1, 0, deferredSince));

        Assert.Null(outcome.Deferral);
        Assert.True(outcome.FallbackUsed);
        Assert.Contains("exceeds Chain:MaxDeferral", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Every_breaker_open_defers_until_the_first_may_half_open_instead_of_failing()
    {
        var breakers = Guards.Breakers(_time, new ProviderHealthOptions { MinimumThroughput = 2, FailureRatio = 0.5, BreakDuration = TimeSpan.FromSeconds(30) });
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Fail(ErrorClass.Server, 503));
        var runner = Runner([gemini, openai], breakers: breakers);
        var single = new[] { Step(0, "gemini", maxRetries: 1, baseSeconds: 0.1), Step(1, "openai", maxRetries: 1, baseSeconds: 0.1) };
        var first = await Run(runner, Request(), single);
        Assert.Equal(FailureReasons.ProvidersExhausted, first.FailureReason);
        var openedAt = _time.GetUtcNow();
        var calls = gemini.Calls + openai.Calls;

        var outcome = await Run(runner, Request(), single);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.Equal((0, 1, DeferralKinds.Unavailable), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.InRange(deferral.ResumeAt, openedAt, openedAt + TimeSpan.FromSeconds(30));
        Assert.Equal(calls, gemini.Calls + openai.Calls);
        Assert.Equal([Decision.Skipped, Decision.Skipped, Decision.Deferred], outcome.Attempts.Select(a => a.Decision));
        Assert.All(outcome.Attempts.Take(2), a => Assert.Equal("skipped: breaker open", a.Note));
    }

    [Fact]
    public async Task A_failed_primary_with_its_fallback_closed_by_a_429_defers_to_resume_at_the_fallback()
    {
        var budgets = Guards.Budgets(_time);
        budgets.Throttled("openai", TimeSpan.FromSeconds(50)); // over 30 s: a spent quota, closed for everyone
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401));
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Runner([gemini, openai], budgets: budgets), Request(), TwoSteps);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.Equal((1, 1, DeferralKinds.Unavailable), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(50), deferral.ResumeAt);
        Assert.Equal((1, 0), (gemini.Calls, openai.Calls));
        Assert.Equal([Decision.FellBack, Decision.Skipped, Decision.Deferred], outcome.Attempts.Select(a => a.Decision));
    }

    [Fact]
    public async Task Every_breaker_open_past_max_deferral_fails_and_parks_as_before()
    {
        var breakers = Guards.Breakers(_time);
        await breakers.PingFailedAsync("gemini", "gemini-model", ErrorClass.Auth);
        await breakers.PingFailedAsync("openai", "openai-model", ErrorClass.Auth);
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Runner([gemini, openai], breakers: breakers), Request(), TwoSteps,
            new ChainStart(0, 1, 0, _time.GetUtcNow().AddMinutes(-10)));

        Assert.Null(outcome.Deferral);
        Assert.Equal(FailureReasons.ProvidersExhausted, outcome.FailureReason);
        Assert.Equal(0, gemini.Calls + openai.Calls);
    }

    [Fact]
    public async Task Deferral_off_keeps_every_wait_in_the_run()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)), Ok());
        var started = _time.GetUtcNow();

        var outcome = await Run(Runner([gemini, new ScriptedProvider("openai", Ok())], new ChainRunOptions { MaxDeferral = TimeSpan.Zero }), Request(), TwoSteps);

        Assert.True(outcome.Succeeded);
        Assert.Equal(TimeSpan.FromSeconds(66), _time.GetUtcNow() - started);
    }

    [Fact]
    public async Task Spent_pacing_budget_that_frees_up_later_than_the_in_process_limit_is_deferred()
    {
        var budgets = Guards.Budgets(_time, new PacingSection { ["gemini"] = new PacingOptions { RequestsPerMinute = 1, MaxWait = TimeSpan.FromMinutes(1) } });
        var gemini = new ScriptedProvider("gemini", Ok());
        var runner = Runner([gemini, new ScriptedProvider("openai", Ok())], budgets: budgets);
        Assert.True((await Run(runner, Request(), TwoSteps)).Succeeded);

        var outcome = await Run(runner, Request(), TwoSteps);

        var deferral = Assert.IsType<ChainDeferral>(outcome.Deferral);
        Assert.Equal((0, 1, DeferralKinds.Pacing), (deferral.StepIndex, deferral.Attempt, deferral.Kind));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(1), deferral.ResumeAt);
        Assert.Equal(1, gemini.Calls);
    }

    [Fact]
    public async Task Step_is_not_started_with_less_than_its_min_time_to_answer_left()
    {
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Runner([gemini, openai]), Request(_time.GetUtcNow().AddMilliseconds(800)), TwoSteps);

        Assert.Equal(FailureReasons.DeadlineExceeded, outcome.FailureReason);
        Assert.Equal(0, gemini.Calls + openai.Calls);
        Assert.All(outcome.Attempts, a => Assert.Equal((Decision.Skipped, ChainRunner.DeadlineSkip), (a.Decision, a.Note)));
    }

    [Fact]
    public async Task Fallback_is_not_started_without_time_to_answer_after_the_primary_failed()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401));
        var openai = new ScriptedProvider("openai", Ok());
        var steps = new[] { Step(0, "gemini"), Step(1, "openai") with { MinTimeToAnswer = TimeSpan.FromSeconds(5) } };

        var outcome = await Run(Runner([gemini, openai]), Request(_time.GetUtcNow().AddSeconds(3)), steps);

        Assert.Equal(FailureReasons.DeadlineExceeded, outcome.FailureReason);
        Assert.Equal((1, 0), (gemini.Calls, openai.Calls));
        Assert.Equal(ChainRunner.DeadlineSkip, outcome.Attempts[^1].Note);
    }
}
