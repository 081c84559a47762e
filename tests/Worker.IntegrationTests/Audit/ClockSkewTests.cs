using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.DeadLetters;
using Worker.IntegrationTests.Infrastructure;
using Worker.Metrics;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Requests;

namespace Worker.IntegrationTests.Audit;

/// <summary>
/// Two instances whose clocks disagree by ten minutes share one PostgreSQL: a lease taken by either is live for the
/// other, and a ping slot is claimed once between them. Only the database's clock decides.
/// </summary>
public sealed class ClockSkewTests : IAsyncLifetime
{
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(10);
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync() => AuditDatabase.MigrateAsync(TestEnvironment.Postgres);

    [Theory]
    [InlineData(10)]
    [InlineData(-10)]
    public async Task A_lease_taken_by_an_instance_with_a_skewed_clock_is_live_for_the_others(int skewMinutes)
    {
        await using var skewed = Instance(TimeSpan.FromMinutes(skewMinutes));
        await using var accurate = Instance(TimeSpan.Zero);
        var request = TestProducer.NewRequest($"clock skew {Guid.NewGuid():N}");

        try
        {
            var first = await skewed.GetRequiredService<RequestLifecycle>().ClaimAsync(request, CancellationToken.None);
            var second = await accurate.GetRequiredService<RequestLifecycle>().ClaimAsync(request, CancellationToken.None);
            var third = await skewed.GetRequiredService<RequestLifecycle>().ClaimAsync(request, CancellationToken.None);

            Assert.Equal(ClaimOutcome.Claimed, first.Outcome);
            Assert.Equal(ClaimOutcome.Waiting, second.Outcome);
            Assert.Equal(ClaimOutcome.Waiting, third.Outcome);
            await using var lease = _db.CreateCommand("SELECT lease_until - now() FROM requests WHERE request_id = $1");
            lease.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
            var remaining = (TimeSpan)(await lease.ExecuteScalarAsync())!;
            Assert.InRange(remaining, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));
        }
        finally
        {
            // The waiting duplicate's deferral row would otherwise send this request to whichever worker runs next.
            foreach (var table in new[] { "deferred_requests", "requests" })
            {
                await using var clean = _db.CreateCommand($"DELETE FROM {table} WHERE request_id = $1");
                clean.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
                await clean.ExecuteNonQueryAsync();
            }
        }
    }

    [Fact]
    public async Task A_ping_slot_is_claimed_once_by_instances_whose_clocks_disagree()
    {
        var interval = TimeSpan.FromSeconds(30);
        var job = $"skew-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        var boundary = ClusterSlots.NextBoundary(now, interval);
        var accurate = Slots("accurate", TimeSpan.Zero);
        var ahead = Slots("ahead", Skew);

        // Each fires at the same boundary of its own clock: for the instance ten minutes ahead that is twenty slots later.
        var claims = await Task.WhenAll(
            accurate.TryClaimAsync(job, boundary, interval, CancellationToken.None),
            ahead.TryClaimAsync(job, boundary + Skew, interval, CancellationToken.None));

        Assert.Single(claims, slot => slot is not null);
        Assert.Equal(ClusterSlots.SlotOf(boundary, interval), claims.Single(slot => slot is not null));
    }

    private ClusterSlots Slots(string instance, TimeSpan skew) =>
        new(_db, Options.Create(new ProviderHealthOptions { InstanceName = instance }), new SkewedClock(skew));

    private static ServiceProvider Instance(TimeSpan skew)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = TestEnvironment.Postgres })
            .Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<TimeProvider>(new SkewedClock(skew));
        services.AddOptions<ProviderHealthOptions>();
        services.AddPersistence(configuration);
        services.AddAudit(configuration);
        services.AddWorkerMetrics();
        services.AddSingleton<IParking>(new ChainParking(Options.Create(new DeadLettersOptions())));
        services.AddRequests();
        return services.BuildServiceProvider();
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private sealed class SkewedClock(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
    }
}
