using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using Worker.Chain;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.ProviderHealth;

/// <summary>Breakers and pacing as the chain sees them: a step that may not be called is skipped with no call and no wait.</summary>
public class ChainGuardTests
{
    private readonly DrivenTimeProvider _time = new();

    private static readonly ChainStep[] Steps =
    [
        new(0, "gemini", "gemini-model", 2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), 0.2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)),
        new(1, "openai", "openai-model", 1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), 0.2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)),
    ];

    private static CompletionRequested Request() => new(Guid.NewGuid(), null, [new ChatMessage("user", "hi")]);

    private Task<ChainOutcome> Run(ChainRunner runner) => _time.Drive(Task.Run(() => runner.RunAsync(Request(), Steps, CancellationToken.None)));

    private ChainRunner Runner(CircuitBreakers breakers, RateBudgets budgets, params ScriptedProvider[] providers) =>
        new(new FakeRegistry(providers), breakers, budgets, Guards.ChainRun(), _time, NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));

    private CircuitBreakers SensitiveBreakers() =>
        Guards.Breakers(_time, new ProviderHealthOptions { MinimumThroughput = 2, FailureRatio = 0.5, BreakDuration = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task Open_breaker_sends_requests_straight_to_the_fallback_with_no_primary_call_and_no_wait()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        var openai = new ScriptedProvider("openai", Ok());
        var breakers = SensitiveBreakers();
        var runner = Runner(breakers, Guards.Budgets(_time), gemini, openai);

        await Run(runner); // two failures open the breaker; the third call is refused
        Assert.Equal(CircuitState.Open, breakers.StateOf("gemini", "gemini-model"));
        var callsBefore = gemini.Calls;
        var startedAt = _time.GetUtcNow();

        var outcome = await Run(runner);

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.FallbackUsed);
        Assert.Equal(callsBefore, gemini.Calls);
        Assert.Equal(startedAt, _time.GetUtcNow());
        var skipped = outcome.Attempts[0];
        Assert.Equal(Decision.Skipped, skipped.Decision);
        Assert.False(skipped.CallMade);
        Assert.Equal("skipped: breaker open", skipped.Note);
        Assert.Equal(1, outcome.CallCount);
    }

    [Fact]
    public async Task Successful_ping_closes_the_breaker_and_the_primary_answers_again()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503), Fail(ErrorClass.Server, 503), Ok("back"));
        var breakers = SensitiveBreakers();
        var runner = Runner(breakers, Guards.Budgets(_time), gemini, new ScriptedProvider("openai", Ok()));
        await Run(runner);
        Assert.Equal(CircuitState.Open, breakers.StateOf("gemini", "gemini-model"));

        await breakers.PingSucceededAsync("gemini", "gemini-model");
        var outcome = await Run(runner);

        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "gemini-model"));
        Assert.False(outcome.FallbackUsed);
        Assert.Equal("back", outcome.Answer!.Text);
    }

    [Fact]
    public async Task Repeated_ping_failures_hold_the_breaker_open_until_a_ping_succeeds()
    {
        var breakers = SensitiveBreakers();
        await breakers.PingFailedAsync("gemini", "gemini-model", ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "gemini-model"));

        await breakers.PingFailedAsync("gemini", "gemini-model", ErrorClass.Server);
        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "gemini-model"));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "gemini-model"));

        await breakers.PingSucceededAsync("gemini", "gemini-model");
        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "gemini-model"));
    }

    [Fact]
    public async Task Auth_failure_holds_the_breaker_open_at_once()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401), Ok());
        var breakers = Guards.Breakers(_time); // insensitive to ordinary failures
        var runner = Runner(breakers, Guards.Budgets(_time), gemini, new ScriptedProvider("openai", Ok()));

        await Run(runner);
        var outcome = await Run(runner);

        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "gemini-model"));
        Assert.Equal(1, gemini.Calls);
        Assert.True(outcome.FallbackUsed);
    }

    [Fact]
    public async Task With_pings_off_the_first_request_after_an_auth_break_tries_the_primary_again()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401), Ok("back"));
        var breakers = Guards.Breakers(_time, new ProviderHealthOptions { MinimumThroughput = 1000, PingInterval = TimeSpan.Zero });
        var runner = Runner(breakers, Guards.Budgets(_time), gemini, new ScriptedProvider("openai", Ok()));
        await Run(runner);
        Assert.True((await Run(runner)).FallbackUsed);

        _time.Advance(new ProviderHealthOptions().AuthBreakDuration);
        var outcome = await Run(runner);

        Assert.False(outcome.FallbackUsed);
        Assert.Equal("back", outcome.Answer!.Text);
        Assert.Equal(2, gemini.Calls);
        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "gemini-model"));
    }

    [Fact]
    public async Task Requests_beyond_the_per_minute_budget_go_to_the_fallback_without_calling_the_primary()
    {
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());
        var budgets = Guards.Budgets(_time, new PacingSection { ["gemini"] = new PacingOptions { RequestsPerMinute = 2 } });
        var runner = Runner(Guards.Breakers(_time), budgets, gemini, openai);

        var outcomes = new List<ChainOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await Run(runner));
        }

        Assert.Equal(2, gemini.Calls);
        Assert.Equal(1, openai.Calls);
        Assert.True(outcomes[2].FallbackUsed);
        Assert.StartsWith("skipped: pacing: gemini at 2 requests/min", outcomes[2].Attempts[0].Note);

        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.False((await Run(runner)).FallbackUsed);
        Assert.Equal(3, gemini.Calls);
    }

    [Fact]
    public async Task Short_pacing_waits_are_waited_instead_of_falling_back()
    {
        var gemini = new ScriptedProvider("gemini", Ok());
        var budgets = Guards.Budgets(_time, new PacingSection { ["gemini"] = new PacingOptions { RequestsPerMinute = 1, MaxWait = TimeSpan.FromMinutes(1) } });
        var runner = Runner(Guards.Breakers(_time), budgets, gemini, new ScriptedProvider("openai", Ok()));
        await Run(runner);
        var startedAt = _time.GetUtcNow();

        var outcome = await Run(runner);

        Assert.False(outcome.FallbackUsed);
        Assert.Equal(TimeSpan.FromMinutes(1), _time.GetUtcNow() - startedAt);
    }

    [Fact]
    public async Task A_short_429_paces_the_provider_instead_of_closing_it_for_everyone()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(1)), Ok("after the wait"));
        var budgets = Guards.Budgets(_time);
        var runner = Runner(Guards.Breakers(_time), budgets, gemini, new ScriptedProvider("openai", Ok()));

        var outcome = await Run(runner);

        // The request that got the 429 waited its Retry-After on the primary; nobody else is shut out meanwhile...
        Assert.Equal("after the wait", outcome.Answer!.Text);
        Assert.True(budgets.TryAcquire("gemini", 10).Allowed);
        // ...but the provider now has an in-flight limit: one call in flight halved to the floor of one, plus 1/1 for the
        // answer after the wait. No slot leaked.
        Assert.Equal((2, 0), budgets.Concurrency.StatusOf("gemini"));
    }

    [Fact]
    public async Task A_call_waits_at_most_a_second_for_room_under_the_in_flight_limit_then_goes_to_the_fallback()
    {
        var budgets = Guards.Budgets(_time);
        var earlier = await budgets.Concurrency.EnterAsync("gemini", TimeSpan.Zero, CancellationToken.None);
        var stillInFlight = await budgets.Concurrency.EnterAsync("gemini", TimeSpan.Zero, CancellationToken.None);
        earlier!.Complete(answered: false, throttled: true); // limit 1, one call still in flight
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok("fallback"));
        var startedAt = _time.GetUtcNow();

        var outcome = await Run(Runner(Guards.Breakers(_time), budgets, gemini, openai));

        Assert.Equal("fallback", outcome.Answer!.Text);
        Assert.Equal(0, gemini.Calls);
        Assert.Equal(ChainRunner.MaxSlotWait, _time.GetUtcNow() - startedAt);
        Assert.StartsWith("skipped: pacing: gemini allows 1 call(s) in flight", outcome.Attempts[0].Note);
        stillInFlight!.Dispose();
        Assert.Equal(0, budgets.Concurrency.StatusOf("gemini").InFlight);
    }

    [Fact]
    public async Task A_429_whose_retry_after_says_the_quota_is_spent_closes_the_provider_budget_until_then()
    {
        var gemini = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromMinutes(2)), Ok());
        var budgets = Guards.Budgets(_time);
        var runner = Runner(Guards.Breakers(_time), budgets, gemini, new ScriptedProvider("openai", Ok()));

        await Run(runner); // 429 with a 2-minute Retry-After: over 30 s, a spent quota; too long to wait, falls back
        var outcome = await Run(runner);

        Assert.Equal(1, gemini.Calls);
        Assert.True(outcome.FallbackUsed);
        Assert.StartsWith("skipped: pacing: gemini answered 429", outcome.Attempts[0].Note);

        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.False((await Run(runner)).FallbackUsed);
    }
}
