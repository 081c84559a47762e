using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class FaultTests
{
    [Fact]
    public async Task Script_of_500_then_ok_answers_500_then_200_and_counts_both()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.Scripted("500", "ok"));

        using var first = await sim.GeminiAsync("gemini");
        using var second = await sim.GeminiAsync("gemini");

        Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var counters = sim.State.GetCounters("gemini");
        Assert.Equal(2, counters.Total);
        Assert.Equal(1, counters.Succeeded);
        Assert.Equal(1, counters.ByFault[Fault.InternalError]);
        Assert.Equal([Fault.InternalError, Fault.Ok], sim.State.Recent("gemini").Select(r => r.Fault));
    }

    [Fact]
    public async Task Reset_drops_the_connection_so_the_client_throws()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("reset"));

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.OpenAIAsync("openai"));
        Assert.Equal(1, sim.State.GetCounters("openai").ByFault[Fault.Reset]);
    }

    [Fact]
    public async Task Hang_never_answers_so_only_the_client_cancellation_ends_the_call()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("hang"));
        using var client = new CancellationTokenSource();

        // The client gives up only once the simulator holds the call: a client timeout could fire before the call
        // arrives on a loaded machine, and then nothing would have hung.
        var call = sim.GeminiAsync("gemini", cancellationToken: client.Token);
        using var noLongerThan = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await sim.State.InFlightReachedAsync(1, noLongerThan.Token);
        Assert.False(call.IsCompleted);
        await client.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, sim.State.GetCounters("gemini").ByFault[Fault.Hang]);
    }

    [Fact]
    public async Task Held_calls_stay_in_flight_until_the_profile_is_replaced_then_answer()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", new FaultProfile { Hold = true });

        var calls = Enumerable.Range(0, 5).Select(_ => sim.GeminiAsync("gemini")).ToList();
        using var noLongerThan = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await sim.State.InFlightReachedAsync(5, noLongerThan.Token);
        Assert.All(calls, c => Assert.False(c.IsCompleted));

        sim.State.SetProfile("gemini", new FaultProfile());
        var answers = await Task.WhenAll(calls);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(0, sim.State.InFlight);
        foreach (var answer in answers)
            answer.Dispose();
    }

    [Fact]
    public async Task Outage_answers_its_fault_inside_the_window_and_ok_after_it()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var sim = await RunningSimulator.StartAsync(time: time);
        sim.State.SetProfile("gemini", new FaultProfile { OutageSeconds = 30, OutageFault = "503" });

        using var during = await sim.GeminiAsync("gemini");
        time.Advance(TimeSpan.FromSeconds(29));
        using var stillDuring = await sim.GeminiAsync("gemini");
        time.Advance(TimeSpan.FromSeconds(2));
        using var after = await sim.GeminiAsync("gemini");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stillDuring.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(time.GetUtcNow(), sim.State.Recent("gemini")[^1].ReceivedAt);
    }

    [Fact]
    public async Task Latency_delays_the_answer()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", new FaultProfile { LatencyMs = 150 });
        var started = Stopwatch.GetTimestamp();

        using var response = await sim.OpenAIAsync("openai");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(140));
    }

    [Fact]
    public async Task Targets_keep_separate_profiles_and_counters()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("primary", FaultProfile.AlwaysFail("503"));

        using var primary = await sim.OpenAIAsync("primary");
        using var secondary = await sim.OpenAIAsync("secondary");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, primary.StatusCode);
        Assert.Equal(HttpStatusCode.OK, secondary.StatusCode);
        Assert.Equal(1, sim.State.GetCounters("primary").Total);
        Assert.Equal(1, sim.State.GetCounters("secondary").Succeeded);
        Assert.Equal(2, sim.State.GetCounters().Total);
    }

    [Fact]
    public async Task Many_concurrent_calls_are_all_counted()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", new FaultProfile { Rates = { ["503"] = 0.5 }, Seed = 7 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => sim.OpenAIAsync("openai")));

        var counters = sim.State.GetCounters("openai");
        Assert.Equal(200, counters.Total);
        Assert.Equal(responses.Count(r => r.StatusCode == HttpStatusCode.OK), counters.Succeeded);
        Assert.Equal(responses.Count(r => r.StatusCode == HttpStatusCode.ServiceUnavailable), counters.ByFault[Fault.Unavailable]);
        foreach (var response in responses)
            response.Dispose();
    }
}
