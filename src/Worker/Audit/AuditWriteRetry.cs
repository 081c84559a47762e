using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Persistence;

namespace Worker.Audit;

/// <summary>
/// Retries one audit write while PostgreSQL is unreachable, inside the consumer, for as long as the process lives: the
/// message stays unacknowledged and a chain outcome stays in memory, so a database outage never loses a paid outcome
/// nor makes the worker call (and pay) a provider again, and no new work is taken meanwhile (every consumer slot waits).
/// Exponential backoff on the injected clock, capped at <see cref="MaxDelay"/>; past <see cref="AuditOptions.WriteRetryFor"/>
/// the outage is reported once per write as an error. The consume token ends it at shutdown. Errors PostgreSQL will
/// repeat (a constraint, a bad value) are not retried. Each try holds a <see cref="DatabaseGate"/> slot, so these
/// writes never ask the pool for more connections than it has.
/// </summary>
public sealed class AuditWriteRetry(IOptions<AuditOptions> options, DatabaseGate gate, TimeProvider time, ILogger<AuditWriteRetry> logger)
{
    internal static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    internal static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    /// <param name="write">What is written, for the logs: "claim", "outcome" or "deferral".</param>
    public async Task<T> RunAsync<T>(string write, Guid requestId, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var reportAfter = options.Value.WriteRetryFor;
        var started = time.GetTimestamp();
        var delay = FirstDelay;
        var reported = false;
        for (var tries = 1; ; tries++)
        {
            try
            {
                T result;
                using (await gate.EnterAsync(cancellationToken))
                {
                    result = await attempt(cancellationToken);
                }

                if (tries > 1)
                {
                    Log.WriteRecovered(logger, requestId, write, tries);
                }

                return result;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsTransient(e))
            {
                var elapsed = time.GetElapsedTime(started);
                if (!reported && elapsed + delay > reportAfter)
                {
                    reported = true;
                    Log.WriteStillFailing(logger, e, requestId, write, (long)elapsed.TotalMilliseconds);
                }
                else
                {
                    Log.WriteRetrying(logger, requestId, write, e.Message, (long)delay.TotalMilliseconds, (long)elapsed.TotalMilliseconds);
                }

                await Task.Delay(delay, time, cancellationToken);
                delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
            {
                // Shutdown: a cancellation, whatever the broken connection threw, so the message is requeued.
                throw new OperationCanceledException($"The audit {write} write was cancelled", e, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.WriteFailed(logger, e, requestId, write, e.Message);
                throw;
            }
        }
    }

    /// <summary>Connection refused or lost, server shutting down or starting up, out of resources, timeouts.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // 08: connection exception; 53: insufficient resources; 57P: shutdown, crash, cannot connect now.
                    return pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || pg.SqlState.StartsWith("53", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException { IsTransient: true }:
                case TimeoutException or IOException or SocketException:
                    return true;
            }
        }

        return false;
    }
}
