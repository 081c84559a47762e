using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Polly.CircuitBreaker;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Chain;

/// <summary>A provider that mostly works keeps its traffic: one more call after bad output, and a last chance before failing.</summary>
public class PartialFailureTests
{
    private readonly DrivenTimeProvider _time = new();

    private static ChainStep Step(int index, string provider, int maxRetries) =>
        new(index, provider, provider + "-model", maxRetries, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30),
            JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));

    /// <summary>The outside test's shape: 2 retries on the primary, none on the fallback.</summary>
    private static readonly ChainStep[] Steps = [Step(0, "gemini", maxRetries: 2), Step(1, "openai", maxRetries: 0)];

    private static CompletionRequested Request(DateTimeOffset? deadline = null) =>
        new(Guid.NewGuid(), null, [new ChatMessage("user", "hi")], Deadline: deadline);

    private Task<ChainOutcome> Run(CompletionRequested request, params ScriptedProvider[] providers) =>
        Run(Guards.Breakers(_time), request, providers);

    private Task<ChainOutcome> Run(CircuitBreakers breakers, CompletionRequested request, params ScriptedProvider[] providers)
    {
        var runner = new ChainRunner(new FakeRegistry(providers), breakers, Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));
        return _time.Drive(Task.Run(() => runner.RunAsync(request, Steps, CancellationToken.None)));
    }

    [Fact]
    public async Task A_primary_skipped_for_its_open_breaker_gets_an_early_trial_when_the_fallback_fails_and_its_answer_closes_the_breaker()
    {
        var breakers = Guards.Breakers(_time, new ProviderHealthOptions { MinimumThroughput = 2, FailureRatio = 0.5 });
        await breakers.ExecuteAsync("gemini", "gemini-model", _ => Task.FromResult<ProviderResult>(new ProviderFailure(ErrorClass.Server, "down")), CancellationToken.None);
        await breakers.ExecuteAsync("gemini", "gemini-model", _ => Task.FromResult<ProviderResult>(new ProviderFailure(ErrorClass.Server, "down")), CancellationToken.None);
        Assert.Equal(CircuitState.Open, breakers.StateOf("gemini", "gemini-model"));
        var gemini = new ScriptedProvider("gemini", Ok("back"));
        var openai = new ScriptedProvider("openai", Fail(ErrorClass.Server, 500));

        var outcome = await Run(breakers, Request(), gemini, openai);

        Assert.Equal("back", outcome.Answer!.Text);
        Assert.Equal((1, 1), (gemini.Calls, openai.Calls));
        Assert.Equal([(ChainRunner.BreakerSkip, Decision.Skipped), ("0 retries spent; no step left", Decision.GaveUp), (ChainRunner.LastChanceNote, Decision.Answered)],
            outcome.Attempts.Select(a => (a.Note, a.Decision)));
        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "gemini-model"));
    }

    [Fact]
    public async Task Bad_output_gets_one_more_call_on_the_same_step_at_once()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.BadOutput), Ok("second try"));
        var openai = new ScriptedProvider("openai", Ok());
        var startedAt = _time.GetUtcNow();

        var outcome = await Run(Request(), gemini, openai);

        Assert.Equal("second try", outcome.Answer!.Text);
        Assert.False(outcome.FallbackUsed);
        Assert.Equal((2, 0), (gemini.Calls, openai.Calls));
        Assert.Equal(startedAt, _time.GetUtcNow());
        Assert.Equal([Decision.Retried, Decision.Answered], outcome.Attempts.Select(a => a.Decision));
        Assert.Equal("one more call after bad_output", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Bad_output_twice_in_a_row_falls_back()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.BadOutput), Fail(ErrorClass.BadOutput), Ok("never asked"));
        var openai = new ScriptedProvider("openai", Ok("fallback"));

        var outcome = await Run(Request(), gemini, openai);

        Assert.Equal("fallback", outcome.Answer!.Text);
        Assert.Equal((2, 1), (gemini.Calls, openai.Calls));
        Assert.Equal([Decision.Retried, Decision.FellBack, Decision.Answered], outcome.Attempts.Select(a => a.Decision));
        Assert.Equal("bad_output twice in a row", outcome.Attempts[1].Note);
    }

    [Fact]
    public async Task When_every_step_failed_the_primary_gets_a_last_chance_that_can_answer()
    {
        var gemini = new ScriptedProvider("gemini",
            Fail(ErrorClass.Server, 503), Fail(ErrorClass.Server, 503), Fail(ErrorClass.Server, 503), Ok("rescued"));
        var openai = new ScriptedProvider("openai", Fail(ErrorClass.Server, 500));

        var outcome = await Run(Request(), gemini, openai);

        Assert.Equal("rescued", outcome.Answer!.Text);
        Assert.False(outcome.FallbackUsed);
        Assert.Equal((4, 1), (gemini.Calls, openai.Calls));
        var last = outcome.Attempts[^1];
        Assert.Equal((0, 4, Decision.Answered, ChainRunner.LastChanceNote), (last.StepIndex, last.Attempt, last.Decision, last.Note));
    }

    [Fact]
    public async Task The_last_chance_goes_on_to_the_fallback_when_the_primary_fails_again()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Network));
        var openai = new ScriptedProvider("openai", Fail(ErrorClass.Timeout), Ok("fallback, second time"));

        var outcome = await Run(Request(), gemini, openai);

        Assert.Equal("fallback, second time", outcome.Answer!.Text);
        Assert.Equal((4, 2), (gemini.Calls, openai.Calls));
        Assert.Equal([(0, Decision.GaveUp), (1, Decision.Answered)],
            outcome.Attempts.Where(a => a.Note == ChainRunner.LastChanceNote).Select(a => (a.StepIndex, a.Decision)));
    }

    [Theory]
    [InlineData(ErrorClass.Auth)]
    [InlineData(ErrorClass.ContentBlocked)]
    public async Task Steps_that_cannot_answer_get_no_last_chance(ErrorClass errorClass)
    {
        var gemini = new ScriptedProvider("gemini", Fail(errorClass));
        var openai = new ScriptedProvider("openai", Fail(errorClass));

        var outcome = await Run(Request(), gemini, openai);

        Assert.False(outcome.Succeeded);
        Assert.Equal((1, 1), (gemini.Calls, openai.Calls));
        Assert.DoesNotContain(outcome.Attempts, a => a.Note == ChainRunner.LastChanceNote);
    }

    [Fact]
    public async Task No_last_chance_without_the_time_to_answer_before_the_deadline()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Hang(_time));

        // The primary fails at 0 s and 1 s (a 2 s backoff would not leave the 1 s it needs), the fallback hangs until
        // the 2.5 s deadline: no time is left for a last chance.
        var outcome = await Run(Request(_time.GetUtcNow().AddSeconds(2.5)), gemini, openai);

        Assert.False(outcome.Succeeded);
        Assert.Equal((2, 1), (gemini.Calls, openai.Calls));
        Assert.DoesNotContain(outcome.Attempts, a => a.Note == ChainRunner.LastChanceNote);
    }
}
