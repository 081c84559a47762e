using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Persistence;
using Worker.Tests.Fakes;

namespace Worker.Tests.Persistence;

public class WriteRetryTests
{
    private readonly DrivenTimeProvider _time = new();

    private WriteRetry Retry(TimeSpan? bound = null) => new(
        Options.Create(new AuditOptions { WriteRetryFor = bound ?? TimeSpan.FromMinutes(2) }), new DatabaseGate(100), _time, NullLogger<WriteRetry>.Instance);

    private static NpgsqlException ConnectionRefused() =>
        new("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

    private Task<T> Run<T>(WriteRetry retry, Func<CancellationToken, Task<T>> write, CancellationToken cancellationToken = default) =>
        _time.Drive(Task.Run(() => retry.RunAsync("outcome", Guid.NewGuid(), write, cancellationToken)));

    [Fact]
    public async Task Outage_is_waited_out_with_exponential_backoff()
    {
        var tries = 0;
        var started = _time.GetUtcNow();

        var result = await Run(Retry(), _ => ++tries < 4 ? throw ConnectionRefused() : Task.FromResult("written"));

        Assert.Equal("written", result);
        Assert.Equal(4, tries);
        // 250 ms, 500 ms, 1 s.
        Assert.Equal(TimeSpan.FromMilliseconds(1750), _time.GetUtcNow() - started);
    }

    [Fact]
    public async Task An_outage_longer_than_the_reporting_bound_is_waited_out_until_postgres_answers()
    {
        var tries = 0;
        var started = _time.GetUtcNow();
        var retry = Retry(TimeSpan.FromSeconds(30));

        // Down for ten minutes: twenty times the bound.
        var result = await _time.Drive(Task.Run(() => retry.RunAsync("outcome", Guid.NewGuid(),
            _ => _time.GetUtcNow() - started < TimeSpan.FromMinutes(10) ? throw ConnectionRefused() : Task.FromResult(++tries),
            CancellationToken.None)));

        Assert.Equal(1, result);
        // Waits are capped at 10 s, so the write lands within one cap of the outage's end.
        Assert.InRange(_time.GetUtcNow() - started, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10) + WriteRetry.MaxDelay);
    }

    [Fact]
    public async Task Server_shutting_down_is_transient()
    {
        var tries = 0;

        await Run(Retry(), _ => ++tries == 1
            ? throw new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)
            : Task.FromResult(0));

        Assert.Equal(2, tries);
    }

    [Fact]
    public async Task Errors_postgres_would_repeat_are_not_retried()
    {
        var tries = 0;

        await Assert.ThrowsAsync<PostgresException>(() => Run<int>(Retry(), _ =>
        {
            tries++;
            throw new PostgresException("value too long for type character varying(32)", "ERROR", "ERROR", PostgresErrorCodes.StringDataRightTruncation);
        }));

        Assert.Equal(1, tries);
    }

    [Fact]
    public async Task Cancellation_stops_the_wait()
    {
        using var stop = new CancellationTokenSource();
        var tries = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run<int>(Retry(), _ =>
        {
            if (++tries == 2)
            {
                stop.Cancel();
            }

            throw ConnectionRefused();
        }, stop.Token));

        Assert.Equal(2, tries);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EF_wrapped_connection_failures_are_transient(bool wrapped)
    {
        Exception e = ConnectionRefused();
        if (wrapped)
        {
            e = new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", e);
        }

        Assert.True(WriteRetry.IsTransient(e));
    }
}
