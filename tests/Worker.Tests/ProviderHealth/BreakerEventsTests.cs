using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using Worker.Chain;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;

namespace Worker.Tests.ProviderHealth;

/// <summary>Breaker transitions as recorded for flapping detection: one opening per outage, and since when.</summary>
public class BreakerEventsTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly BreakerEventLog _events;
    private readonly CircuitBreakers _breakers;

    public BreakerEventsTests()
    {
        var options = Options.Create(new ProviderHealthOptions { MinimumThroughput = 2, InstanceName = "unit" });
        _events = new BreakerEventLog(options, _time);
        _breakers = new CircuitBreakers(options, _time, NullLogger<CircuitBreakers>.Instance, _events);
    }

    private List<(string Transition, DateTimeOffset At)> Recorded()
    {
        var rows = new List<(string, DateTimeOffset)>();
        while (_events.Reader.TryRead(out var row))
        {
            Assert.Equal("unit", row.Instance);
            rows.Add((row.Transition, row.At));
        }

        return rows;
    }

    private Task Fail() => _breakers.ExecuteAsync("gemini", "m",
        _ => Task.FromResult<ProviderResult>(new ProviderFailure(ErrorClass.Server, "503", 503)), CancellationToken.None);

    [Fact]
    public async Task Opening_by_live_failures_then_isolation_by_pings_is_one_opening_until_closed()
    {
        var start = _time.GetUtcNow();
        await Fail();
        await Fail();
        Assert.Equal((CircuitState.Open, start), _breakers.StatusOf("gemini", "m"));

        _time.Advance(TimeSpan.FromSeconds(10));
        await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Server);
        Assert.Equal((CircuitState.Isolated, start), _breakers.StatusOf("gemini", "m"));

        _time.Advance(TimeSpan.FromSeconds(10));
        await _breakers.PingSucceededAsync("gemini", "m");
        Assert.Equal((CircuitState.Closed, null), _breakers.StatusOf("gemini", "m"));

        Assert.Equal([(BreakerTransition.Opened, start), (BreakerTransition.Closed, start.AddSeconds(20))], Recorded());
    }

    [Fact]
    public async Task Isolation_of_a_closed_breaker_is_recorded_as_isolated()
    {
        await _breakers.PingFailedAsync("gemini", "m", ErrorClass.Auth);

        Assert.Equal([(BreakerTransition.Isolated, _time.GetUtcNow())], Recorded());
    }
}
