using Microsoft.Extensions.Time.Testing;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class SimulatorStateTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Script_comes_first_then_outage_then_rates_then_always()
    {
        var state = new SimulatorState(_time);
        state.SetProfile("t", new FaultProfile
        {
            Script = ["400"],
            OutageSeconds = 10,
            OutageFault = "502",
            Rates = { ["500"] = 1.0 },
            Always = "503",
        });

        var script = state.Admit("t", "gemini", "m").Fault;
        var outage = state.Admit("t", "gemini", "m").Fault;
        _time.Advance(TimeSpan.FromSeconds(11));
        var rate = state.Admit("t", "gemini", "m").Fault;
        state.SetProfile("t", new FaultProfile { Rates = { ["500"] = 0.0 }, Always = "503" });
        var always = state.Admit("t", "gemini", "m").Fault;
        state.ClearProfile("t");
        var healthy = state.Admit("t", "gemini", "m").Fault;

        Assert.Equal([Fault.BadRequest, Fault.BadGateway, Fault.InternalError, Fault.Unavailable, Fault.Ok], [script, outage, rate, always, healthy]);
    }

    [Fact]
    public void A_model_with_its_own_latency_gets_it_and_the_others_keep_the_target_latency()
    {
        var state = new SimulatorState(_time);
        state.SetProfile("t", new FaultProfile { LatencyMs = 50, ModelLatencyMs = { ["fast"] = 400, ["slow"] = 1750 } });

        Assert.Equal([400, 1750, 50], new[] { "fast", "slow", "other" }.Select(m => state.Admit("t", "gemini", m).Latency.TotalMilliseconds));
    }

    [Fact]
    public void A_negative_model_latency_is_refused_naming_the_model()
    {
        var errors = new FaultProfile { ModelLatencyMs = { ["fast"] = -1 } }.Validate();

        Assert.Contains("'fast'", errors["modelLatencyMs.fast"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_reply_is_padded_to_the_asked_words_and_left_alone_without_them()
    {
        var plain = Reply.Text("gemini", "m", "Hello there");

        Assert.Equal(300, Reply.CountWords(Reply.Text("gemini", "m", "Hello there", 300)));
        Assert.Equal(plain, Reply.Text("gemini", "m", "Hello there", null));
        Assert.Equal(plain, Reply.Text("gemini", "m", "Hello there", 2));
    }

    [Fact]
    public void Seeded_rates_repeat_the_same_sequence_and_land_near_their_rate()
    {
        static Fault[] Run(FakeTimeProvider time)
        {
            var state = new SimulatorState(time);
            state.SetProfile("t", new FaultProfile { Rates = { ["hang"] = 0.1, ["503"] = 0.3 }, Seed = 42 });
            return [.. Enumerable.Range(0, 2_000).Select(_ => state.Admit("t", "openai", "m").Fault)];
        }

        var first = Run(_time);
        var second = Run(_time);

        Assert.Equal(first, second);
        Assert.InRange(first.Count(f => f == Fault.Unavailable), 500, 700);
        Assert.InRange(first.Count(f => f == Fault.Hang), 140, 260);
    }

    [Fact]
    public void Concurrent_calls_are_counted_exactly_and_recent_keeps_the_last_2000_in_order()
    {
        var state = new SimulatorState(_time);
        state.SetProfile("t", FaultProfile.Scripted([.. Enumerable.Repeat("503", 5_000)]));

        Parallel.For(0, 10_000, i => state.Admit("t", "gemini", i % 2 == 0 ? "a" : "b"));

        var counters = state.GetCounters("t");
        Assert.Equal(10_000, counters.Total);
        Assert.Equal(5_000, counters.ByFault[Fault.Unavailable]);
        Assert.Equal(5_000, counters.Succeeded);
        Assert.Equal(5_000, counters.ByModel["a"]);
        var recent = state.Recent("t");
        Assert.Equal(2_000, recent.Count);
        Assert.Equal(recent.OrderBy(r => r.Sequence), recent);
        Assert.Equal(10_000, recent[^1].Sequence);
    }

    [Fact]
    public void Invalid_profile_is_refused_with_the_bad_name()
    {
        var state = new SimulatorState(_time);

        var error = Assert.Throws<ArgumentException>(() => state.SetProfile("t", FaultProfile.Scripted("ok", "teapot")));

        Assert.Contains("'teapot'", error.Message, StringComparison.Ordinal);
        Assert.Contains("script[1]", error.Message, StringComparison.Ordinal);
        Assert.Null(state.GetProfile("t"));
    }

    [Fact]
    public void Clear_forgets_profiles_and_counters()
    {
        var state = new SimulatorState(_time);
        state.SetProfile("t", FaultProfile.AlwaysFail("503"));
        state.Admit("t", "gemini", "m");

        state.Clear();

        Assert.Equal(0, state.GetCounters("t").Total);
        Assert.Empty(state.Recent());
        Assert.Equal(Fault.Ok, state.Admit("t", "gemini", "m").Fault);
    }
}
