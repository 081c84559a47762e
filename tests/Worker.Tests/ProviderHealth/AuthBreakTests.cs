using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using Worker.Chain;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.ProviderHealth;

/// <summary>A rejected call (401/403) holds the breaker open for a bounded time, then one trial call decides.</summary>
public class AuthBreakTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _time = new();
    private readonly BreakerEventLog _events;
    private readonly CircuitBreakers _breakers;
    private int _calls;

    public AuthBreakTests()
    {
        // Pings off, and insensitive to ordinary failures: only the auth break can hold the breaker open.
        var options = Options.Create(new ProviderHealthOptions
        {
            PingInterval = TimeSpan.Zero,
            MinimumThroughput = 1000,
            AuthBreakDuration = Bound,
            InstanceName = "unit",
        });
        _events = new BreakerEventLog(options, _time);
        _breakers = new CircuitBreakers(options, _time, NullLogger<CircuitBreakers>.Instance, _events);
    }

    private CircuitState State => _breakers.StateOf("gemini", "m");

    private Task<ProviderResult?> Call(Func<CancellationToken, Task<ProviderResult>> answer) =>
        _breakers.ExecuteAsync("gemini", "m", ct =>
        {
            Interlocked.Increment(ref _calls);
            return answer(ct);
        }, CancellationToken.None);

    private List<string> Recorded() => _events.TakeTransitions();

    [Fact]
    public async Task With_pings_off_a_401_holds_the_breaker_open_until_the_bound_then_one_trial_call_closes_it()
    {
        var start = _time.GetUtcNow();
        await Call(Fail(ErrorClass.Auth, 401));
        Assert.Equal(CircuitState.Isolated, State);
        Assert.Equal(start + Bound, _breakers.UnavailableUntil("gemini", "m"));

        _time.Advance(Bound - TimeSpan.FromMilliseconds(1));
        Assert.Null(await Call(Ok()));
        Assert.Equal(CircuitState.Isolated, State);
        Assert.Equal(1, _calls);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(CircuitState.HalfOpen, State);
        Assert.Null(_breakers.UnavailableUntil("gemini", "m"));

        var trial = await Call(Ok("back"));

        Assert.Equal("back", Assert.IsType<ProviderSuccess>(trial).Text);
        Assert.Equal(2, _calls);
        Assert.Equal(CircuitState.Closed, State);
        Assert.NotNull(await Call(Ok()));
        Assert.Equal([BreakerTransition.Isolated, BreakerTransition.Closed], Recorded());
    }

    [Fact]
    public async Task Only_one_trial_call_runs_while_the_others_are_refused()
    {
        await Call(Fail(ErrorClass.Auth, 403));
        _time.Advance(Bound);
        var answer = new TaskCompletionSource<ProviderResult>(TaskCreationOptions.RunContinuationsAsynchronously);

        var trial = Call(_ => answer.Task);
        var during = await Call(Ok());
        Assert.Null(during);
        Assert.Equal(2, _calls);
        Assert.Equal(CircuitState.HalfOpen, State);
        Assert.Equal(_time.GetUtcNow() + CircuitBreakers.HalfOpenProbeWait, _breakers.UnavailableUntil("gemini", "m"));

        answer.SetResult(new ProviderSuccess("ok", "m", 1, 1, "STOP"));
        await trial;
        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_trial_rejected_again_holds_the_breaker_open_for_another_bound()
    {
        await Call(Fail(ErrorClass.Auth, 401));
        _time.Advance(Bound);

        Assert.IsType<ProviderFailure>(await Call(Fail(ErrorClass.Auth, 401)));
        Assert.Equal(CircuitState.Isolated, State);

        _time.Advance(Bound - TimeSpan.FromMilliseconds(1));
        Assert.Null(await Call(Ok()));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.IsType<ProviderSuccess>(await Call(Ok()));
        Assert.Equal(CircuitState.Closed, State);
        Assert.Equal(3, _calls);
        // The failed trial is the same outage, not another opening.
        Assert.Equal([BreakerTransition.Isolated, BreakerTransition.Closed], Recorded());
    }

    [Fact]
    public async Task A_trial_refused_for_a_reason_that_says_nothing_about_the_provider_closes_the_breaker()
    {
        await Call(Fail(ErrorClass.Auth, 401));
        _time.Advance(Bound);

        Assert.IsType<ProviderFailure>(await Call(Fail(ErrorClass.RateLimited, 429)));

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_successful_ping_closes_an_auth_break_before_its_bound()
    {
        await Call(Fail(ErrorClass.Auth, 401));
        _time.Advance(TimeSpan.FromSeconds(30));

        await _breakers.PingSucceededAsync("gemini", "m");

        Assert.Equal(CircuitState.Closed, State);
        Assert.NotNull(await Call(Ok()));
    }

    [Fact]
    public async Task A_breaker_held_by_failed_pings_is_not_bounded_by_a_later_auth_break()
    {
        await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Auth);
        _time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(CircuitState.Isolated, State);
        Assert.Null(await Call(Ok()));
        Assert.Equal(0, _calls);
    }
}
