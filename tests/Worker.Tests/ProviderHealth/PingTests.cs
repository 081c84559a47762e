using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Polly.CircuitBreaker;
using Worker.Audit;
using Worker.Chain;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;

namespace Worker.Tests.ProviderHealth;

/// <summary>What a ping's answer means, how pings reach the breakers exactly once, and what pings cost.</summary>
public class PingTests
{
    private readonly FakeTimeProvider _time = new();

    [Theory]
    [InlineData(ErrorClass.Server, PingOutcome.Down)]
    [InlineData(ErrorClass.Network, PingOutcome.Down)]
    [InlineData(ErrorClass.Timeout, PingOutcome.Down)]
    [InlineData(ErrorClass.Auth, PingOutcome.Down)]
    [InlineData(ErrorClass.RateLimited, PingOutcome.Throttled)]
    // The provider answered: a reasoning model stopping at MAX_TOKENS before any text, a block, a 400.
    [InlineData(ErrorClass.BadOutput, PingOutcome.Up)]
    [InlineData(ErrorClass.ContentBlocked, PingOutcome.Up)]
    [InlineData(ErrorClass.InvalidRequest, PingOutcome.Up)]
    public void Any_answer_from_the_provider_is_up_and_only_failures_to_answer_are_down(ErrorClass errorClass, string expected)
    {
        var (outcome, recordedClass, status, _) = ProviderPinger.Classify(new ProviderFailure(errorClass, "x", 599));
        Assert.Equal(expected, outcome);
        Assert.Equal(errorClass, recordedClass);
        Assert.Equal(599, status);
    }

    [Fact]
    public void A_success_is_up_with_no_error_class()
    {
        var (outcome, errorClass, _, detail) = ProviderPinger.Classify(new ProviderSuccess("pong", "m", 1, 1, "STOP"));
        Assert.Equal(PingOutcome.Up, outcome);
        Assert.Null(errorClass);
        Assert.Equal("finish reason STOP", detail);
    }

    private PingSync Sync(CircuitBreakers breakers) =>
        // Never opened: ApplyAsync needs no database.
        new(NpgsqlDataSource.Create("Host=localhost"), breakers, Options.Create(new ProviderHealthOptions()), _time, NullLogger<PingSync>.Instance);

    private static PingRow Ping(long id, string outcome, int secondsAgo = 0, string? errorClass = "server") => new()
    {
        Id = id,
        Provider = "gemini",
        Model = "m",
        Outcome = outcome,
        ErrorClass = outcome == PingOutcome.Up ? null : errorClass,
        PingedAt = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero).AddSeconds(-secondsAgo),
    };

    [Fact]
    public async Task A_ping_applied_twice_counts_once()
    {
        var breakers = Guards.Breakers(_time);
        var sync = Sync(breakers);

        await sync.ApplyAsync(Ping(1, PingOutcome.Down, 60));
        await sync.ApplyAsync(Ping(1, PingOutcome.Down, 60)); // read back by the sync step after the pinger applied it
        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "m"));

        await sync.ApplyAsync(Ping(2, PingOutcome.Down, 30));
        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "m"));
    }

    [Fact]
    public async Task An_older_ping_landing_after_a_newer_one_is_ignored()
    {
        var breakers = Guards.Breakers(_time);
        var sync = Sync(breakers);
        await sync.ApplyAsync(Ping(1, PingOutcome.Down, 90));
        await sync.ApplyAsync(Ping(2, PingOutcome.Down, 60));
        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "m"));

        await sync.ApplyAsync(Ping(4, PingOutcome.Up, 0));
        await sync.ApplyAsync(Ping(3, PingOutcome.Down, 30)); // slow ping of the previous slot, stored last

        Assert.Equal(CircuitState.Closed, breakers.StateOf("gemini", "m"));
    }

    [Fact]
    public async Task Throttled_pings_neither_open_nor_close()
    {
        var breakers = Guards.Breakers(_time);
        var sync = Sync(breakers);
        await sync.ApplyAsync(Ping(1, PingOutcome.Down, 90, "auth"));
        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "m"));

        await sync.ApplyAsync(Ping(2, PingOutcome.Throttled, 60, "rate_limit"));

        Assert.Equal(CircuitState.Isolated, breakers.StateOf("gemini", "m"));
    }

    [Fact]
    public void Pings_of_the_default_chain_cost_under_a_dollar_a_day_at_list_prices()
    {
        // appsettings.json: gemini-2.5-pro 1.25 / 10.00, o3-mini 1.10 / 4.40 USD per million tokens.
        var prices = new PriceTable(Options.Create(new PricingOptions
        {
            ["gemini-2.5-pro"] = new ModelPrice { InputPerMillion = 1.25m, OutputPerMillion = 10.00m },
            ["o3-mini"] = new ModelPrice { InputPerMillion = 1.10m, OutputPerMillion = 4.40m },
        }));
        ProviderModel[] pairs = [new("gemini", "gemini-2.5-pro"), new("openai", "o3-mini")];

        // 2,880 pings a day each, at most 10 tokens in and 16 out: 2880 x (0.0001725 + 0.0000814) USD.
        Assert.Equal(0.73m, HealthSchedule.PingCostPerDay(prices, pairs, new ProviderHealthOptions()));
        Assert.Null(HealthSchedule.PingCostPerDay(prices, [new("x", "unpriced")], new ProviderHealthOptions()));
    }
}
