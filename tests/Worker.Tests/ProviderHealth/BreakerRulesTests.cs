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

/// <summary>
/// When a breaker opens, half-opens and closes, on a fake clock with the default thresholds: outages open it, noise
/// does not; several trials decide a recovery; a last-chance call may try an open breaker early, sparingly.
/// </summary>
public class BreakerRulesTests
{
    private static readonly ProviderHealthOptions Defaults = new();

    private readonly FakeTimeProvider _time = new();
    private readonly BreakerEventLog _events;
    private readonly CircuitBreakers _breakers;
    private int _calls;

    public BreakerRulesTests()
    {
        // Pings off: only live calls move the breaker, unless a test applies a ping itself.
        var options = Options.Create(new ProviderHealthOptions { PingInterval = TimeSpan.Zero, InstanceName = "unit" });
        _events = new BreakerEventLog(options, _time);
        _breakers = new CircuitBreakers(options, _time, NullLogger<CircuitBreakers>.Instance, _events);
    }

    private CircuitState State => _breakers.StateOf("gemini", "m");

    private DateTimeOffset? UnavailableUntil => _breakers.UnavailableUntil("gemini", "m");

    private Task<ProviderResult?> Call(Func<CancellationToken, Task<ProviderResult>> answer, bool lastChance = false) =>
        _breakers.ExecuteAsync("gemini", "m", ct =>
        {
            Interlocked.Increment(ref _calls);
            return answer(ct);
        }, CancellationToken.None, lastChance);

    private Task<ProviderResult?> Call(ErrorClass? failure, bool lastChance = false) =>
        Call(failure is { } errorClass ? Fail(errorClass, 503) : Ok(), lastChance);

    private async Task Calls(int count, ErrorClass? failure)
    {
        for (var i = 0; i < count; i++)
            Assert.NotNull(await Call(failure));
    }

    /// <summary>A call the test answers later: the breaker has admitted it when this returns.</summary>
    private (Task<ProviderResult?> Call, TaskCompletionSource<ProviderResult> Answer) Pending(bool lastChance = false)
    {
        var answer = new TaskCompletionSource<ProviderResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Call(_ => answer.Task, lastChance), answer);
    }

    private static ProviderResult Failure(ErrorClass errorClass) => new ProviderFailure(errorClass, "x", 503);

    private static ProviderResult Success() => new ProviderSuccess("ok", "m", 1, 1, "STOP");

    private List<string> Recorded() => _events.TakeTransitions();

    /// <summary>Opens the breaker the way an outage does: MinimumThroughput failures.</summary>
    private async Task OpenAsync()
    {
        await Calls(Defaults.MinimumThroughput, ErrorClass.Server);
        Assert.Equal(CircuitState.Open, State);
    }

    [Fact]
    public void The_defaults_need_real_evidence()
    {
        Assert.Equal(20, Defaults.MinimumThroughput);
        Assert.Equal(0.8, Defaults.FailureRatio);
        Assert.Equal(TimeSpan.FromSeconds(30), Defaults.SamplingDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), Defaults.BreakDuration);
        Assert.Equal(3, Defaults.HalfOpenTrials);
    }

    [Theory]
    // A call every 50 ms (the window holds 600 calls) and every 1.5 s (it holds 20: the least that can open it).
    [InlineData(0.3, 50, 1)]
    [InlineData(0.3, 50, 2)]
    [InlineData(0.3, 1500, 3)]
    [InlineData(0.3, 1500, 4)]
    [InlineData(0.5, 50, 5)]
    [InlineData(0.5, 50, 6)]
    public async Task Random_failures_of_30_to_50_percent_over_hundreds_of_calls_never_open_it(double share, int intervalMs, int seed)
    {
        var random = new Random(seed);
        var failures = 0;
        for (var i = 0; i < 2000; i++)
        {
            var fails = random.NextDouble() < share;
            failures += fails ? 1 : 0;
            Assert.NotNull(await Call(fails ? ErrorClass.Server : null));
            _time.Advance(TimeSpan.FromMilliseconds(intervalMs));
        }

        Assert.InRange(failures, 2000 * (share - 0.05), 2000 * (share + 0.05));
        Assert.Equal(CircuitState.Closed, State);
        Assert.Empty(Recorded());
    }

    [Fact]
    public async Task Half_the_calls_failing_in_runs_of_up_to_ten_never_opens_it()
    {
        for (var run = 0; run < 50; run++)
        {
            await Calls(10, ErrorClass.Timeout);
            await Calls(10, null);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_hard_outage_opens_it_after_MinimumThroughput_calls()
    {
        var start = _time.GetUtcNow();
        await Calls(Defaults.MinimumThroughput - 1, ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);

        Assert.NotNull(await Call(ErrorClass.Network));

        Assert.Equal(CircuitState.Open, State);
        Assert.Null(await Call(Ok()));
        Assert.Equal(Defaults.MinimumThroughput, _calls);
        Assert.Equal(start + Defaults.BreakDuration, UnavailableUntil);
        Assert.Equal([BreakerTransition.Opened], Recorded());
    }

    [Fact]
    public async Task An_outage_starting_under_traffic_opens_it_after_MinimumThroughput_failures_in_a_row()
    {
        // The window still holds 100 successes: the ratio alone would wait for them to age out.
        await Calls(100, null);
        await Calls(Defaults.MinimumThroughput - 1, ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);

        await Call(ErrorClass.Server);

        Assert.Equal(CircuitState.Open, State);
    }

    [Theory]
    [InlineData(ErrorClass.BadOutput)]
    [InlineData(ErrorClass.RateLimited)]
    [InlineData(ErrorClass.ContentBlocked)]
    [InlineData(ErrorClass.InvalidRequest)]
    public async Task Failures_that_do_not_say_the_provider_is_down_never_open_it(ErrorClass errorClass)
    {
        await Calls(500, errorClass);

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task Answers_that_failed_otherwise_count_as_calls_that_did_not_fail()
    {
        // 20 server errors among 29 calls (69 %, never more than 5 in a row): 20 in a row would have opened it.
        await Calls(5, ErrorClass.BadOutput);
        for (var i = 0; i < 4; i++)
        {
            await Calls(5, ErrorClass.Server);
            await Call(ErrorClass.RateLimited);
        }

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task Failures_drop_out_of_the_window_after_SamplingDuration()
    {
        await Calls(Defaults.MinimumThroughput - 1, ErrorClass.Server);
        _time.Advance(Defaults.SamplingDuration);

        await Call(ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);

        await Calls(Defaults.MinimumThroughput - 2, ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);
        await Call(ErrorClass.Server);
        Assert.Equal(CircuitState.Open, State);
    }

    [Fact]
    public async Task Failures_still_count_just_inside_the_window()
    {
        await Calls(Defaults.MinimumThroughput - 1, ErrorClass.Server);
        _time.Advance(Defaults.SamplingDuration - TimeSpan.FromMilliseconds(1));

        await Call(ErrorClass.Server);

        Assert.Equal(CircuitState.Open, State);
    }

    [Fact]
    public async Task Half_open_admits_HalfOpenTrials_trials_at_once_and_refuses_more()
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration - TimeSpan.FromMilliseconds(1));
        Assert.Null(await Call(Ok()));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(CircuitState.HalfOpen, State);
        Assert.Null(UnavailableUntil);

        var trials = Enumerable.Range(0, Defaults.HalfOpenTrials).Select(_ => Pending()).ToList();

        Assert.Null(await Call(Ok()));
        Assert.Equal(Defaults.MinimumThroughput + Defaults.HalfOpenTrials, _calls);
        Assert.Equal(_time.GetUtcNow() + CircuitBreakers.HalfOpenProbeWait, UnavailableUntil);
        foreach (var (call, answer) in trials)
        {
            answer.SetResult(Success());
            await call;
        }

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task One_failed_trial_does_not_reopen_it_while_the_others_may_still_answer()
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);
        var first = Pending();
        var second = Pending();
        var third = Pending();

        first.Answer.SetResult(Failure(ErrorClass.Server));
        await first.Call;
        Assert.Equal(CircuitState.HalfOpen, State);
        // Its slot stays spent: two trials in flight and one failed fill the three.
        Assert.Null(await Call(Ok()));

        second.Answer.SetResult(Success());
        await second.Call;
        Assert.Equal(CircuitState.Closed, State);
        third.Answer.SetResult(Failure(ErrorClass.Server)); // a late trial of a half-open phase that is over
        await third.Call;
        Assert.Equal(CircuitState.Closed, State);
        Assert.Equal([BreakerTransition.Opened, BreakerTransition.Closed], Recorded());
    }

    [Fact]
    public async Task Under_low_traffic_trials_run_one_after_another_until_HalfOpenTrials_failed_then_it_reopens_for_BreakDuration()
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);

        for (var trial = 1; trial < Defaults.HalfOpenTrials; trial++)
        {
            Assert.NotNull(await Call(ErrorClass.Timeout));
            Assert.Equal(CircuitState.HalfOpen, State);
        }

        Assert.NotNull(await Call(ErrorClass.Timeout));

        Assert.Equal(CircuitState.Open, State);
        Assert.Equal(_time.GetUtcNow() + Defaults.BreakDuration, UnavailableUntil);
        Assert.Null(await Call(Ok()));
        // The same outage: re-opening after failed trials is not another opening.
        Assert.Equal([BreakerTransition.Opened], Recorded());

        _time.Advance(Defaults.BreakDuration);
        Assert.NotNull(await Call(Ok()));
        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_trial_success_closes_it_with_a_fresh_window()
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);

        Assert.IsType<ProviderSuccess>(await Call(Ok()));

        Assert.Equal((CircuitState.Closed, null), _breakers.StatusOf("gemini", "m"));
        await Calls(Defaults.MinimumThroughput - 1, ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);
    }

    [Theory]
    [InlineData(ErrorClass.BadOutput)]
    [InlineData(ErrorClass.RateLimited)]
    public async Task A_trial_the_provider_answers_with_a_failure_that_does_not_say_it_is_down_closes_it(ErrorClass errorClass)
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);

        Assert.NotNull(await Call(errorClass));

        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_trial_that_ends_without_an_answer_frees_its_slot()
    {
        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);
        var trials = Enumerable.Range(0, Defaults.HalfOpenTrials).Select(_ => Pending()).ToList();
        Assert.Null(await Call(Ok()));

        trials[0].Answer.SetCanceled();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trials[0].Call);

        Assert.Equal(CircuitState.HalfOpen, State);
        Assert.IsType<ProviderSuccess>(await Call(Ok()));
        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_last_chance_call_tries_an_open_breaker_early_and_its_answer_closes_it()
    {
        await OpenAsync();
        Assert.Null(await Call(Ok()));

        Assert.IsType<ProviderSuccess>(await Call(Ok(), lastChance: true));

        Assert.Equal(CircuitState.Closed, State);
        Assert.Equal(Defaults.MinimumThroughput + 1, _calls);
        Assert.Equal([BreakerTransition.Opened, BreakerTransition.Closed], Recorded());
    }

    [Fact]
    public async Task Last_chance_calls_wait_HalfOpenProbeWait_after_a_failed_one_and_count_as_failed_trials()
    {
        await OpenAsync();
        var openedUntil = UnavailableUntil;

        for (var trial = 1; trial < Defaults.HalfOpenTrials; trial++)
        {
            Assert.NotNull(await Call(ErrorClass.Server, lastChance: true));
            Assert.Equal(CircuitState.Open, State);
            Assert.Equal(openedUntil, UnavailableUntil);

            _time.Advance(CircuitBreakers.HalfOpenProbeWait - TimeSpan.FromMilliseconds(1));
            Assert.Null(await Call(Ok(), lastChance: true));
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        // The last trial slot: its failure re-opens the breaker for a whole break from now.
        Assert.NotNull(await Call(ErrorClass.Server, lastChance: true));

        Assert.Equal(CircuitState.Open, State);
        Assert.Equal(_time.GetUtcNow() + Defaults.BreakDuration, UnavailableUntil);
        Assert.Equal(Defaults.MinimumThroughput + Defaults.HalfOpenTrials, _calls);
        Assert.Equal([BreakerTransition.Opened], Recorded());
    }

    [Fact]
    public async Task A_last_chance_call_is_refused_while_a_trial_is_in_flight()
    {
        await OpenAsync();
        var early = Pending(lastChance: true);

        Assert.Null(await Call(Ok(), lastChance: true));
        _time.Advance(Defaults.BreakDuration);
        // Half-open: the other trial slots are open to any call.
        Assert.NotNull(await Call(ErrorClass.Server));
        Assert.NotNull(await Call(ErrorClass.Server, lastChance: true));
        Assert.Null(await Call(Ok(), lastChance: true));

        early.Answer.SetResult(Success());
        await early.Call;
        Assert.Equal(CircuitState.Closed, State);
    }

    [Fact]
    public async Task A_live_answer_between_failed_pings_breaks_their_row()
    {
        for (var ping = 0; ping < Defaults.PingFailuresToIsolate - 1; ping++)
            await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        await Calls(1, failure: null);
        await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        Assert.Equal(CircuitState.Closed, State);

        // With no answer in between, the pings are the evidence.
        for (var ping = 1; ping < Defaults.PingFailuresToIsolate; ping++)
            await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        Assert.Equal(CircuitState.Isolated, State);
    }

    [Fact]
    public async Task A_breaker_isolated_by_failed_pings_admits_no_last_chance_call()
    {
        await OpenAsync();
        for (var ping = 0; ping < Defaults.PingFailuresToIsolate; ping++)
            await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        Assert.Equal(CircuitState.Isolated, State);

        _time.Advance(TimeSpan.FromHours(1));

        Assert.Null(await Call(Ok(), lastChance: true));
        Assert.Equal(Defaults.MinimumThroughput, _calls);
        await _breakers.PingSucceededAsync("gemini", "m");
        Assert.NotNull(await Call(Ok()));
    }

    [Fact]
    public async Task A_last_chance_call_may_try_a_breaker_held_by_a_rejected_call_and_another_rejection_holds_it_again()
    {
        await Call(ErrorClass.Auth);
        Assert.Equal(CircuitState.Isolated, State);
        Assert.Null(await Call(Ok()));

        Assert.NotNull(await Call(ErrorClass.Auth, lastChance: true));
        Assert.Equal(_time.GetUtcNow() + Defaults.AuthBreakDuration, UnavailableUntil);
        Assert.Null(await Call(Ok(), lastChance: true));

        _time.Advance(CircuitBreakers.HalfOpenProbeWait);
        Assert.IsType<ProviderSuccess>(await Call(Ok(), lastChance: true));
        Assert.Equal(CircuitState.Closed, State);
        Assert.Equal([BreakerTransition.Isolated, BreakerTransition.Closed], Recorded());
    }

    [Fact]
    public async Task A_last_chance_call_that_fails_does_not_cut_an_auth_hold_short()
    {
        await Call(ErrorClass.Auth);
        var heldUntil = UnavailableUntil;

        Assert.NotNull(await Call(ErrorClass.Server, lastChance: true));

        Assert.Equal(CircuitState.Isolated, State);
        Assert.Equal(heldUntil, UnavailableUntil);
        _time.Advance(Defaults.AuthBreakDuration);
        Assert.Equal(CircuitState.HalfOpen, State);
        Assert.NotNull(await Call(ErrorClass.Server));
        // The trial after the hold failed: held again for a break, then one trial.
        Assert.Equal(CircuitState.Isolated, State);
        Assert.Equal(_time.GetUtcNow() + Defaults.BreakDuration, UnavailableUntil);
        Assert.Equal([BreakerTransition.Isolated], Recorded());
    }

    [Fact]
    public async Task A_successful_ping_closes_an_open_or_half_open_breaker()
    {
        await OpenAsync();
        await _breakers.PingSucceededAsync("gemini", "m");
        Assert.Equal(CircuitState.Closed, State);

        await OpenAsync();
        _time.Advance(Defaults.BreakDuration);
        var trial = Pending();
        await _breakers.PingSucceededAsync("gemini", "m");
        Assert.Equal(CircuitState.Closed, State);

        trial.Answer.SetResult(Failure(ErrorClass.Server)); // belongs to the half-open phase the ping ended
        await trial.Call;
        Assert.Equal(CircuitState.Closed, State);
    }
}
