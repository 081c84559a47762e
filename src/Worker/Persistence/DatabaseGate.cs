using Npgsql;

namespace Worker.Persistence;

/// <summary>
/// Bounds the one-request database writes to what the connection pool holds, whatever Messaging:ConcurrencyLimit
/// says. Thousands of requests may be in flight; without the gate a burst of them (a PostgreSQL outage ending, a wave
/// of duplicates) would ask the pool for more connections than it has and fail after Npgsql's connection timeout.
/// With it they queue here instead, in memory, and the pool keeps <see cref="Reserved"/> connections for the
/// group-commit writers, the scheduled jobs, lease renewal and the ops API.
/// </summary>
public sealed class DatabaseGate
{
    private readonly SemaphoreSlim _slots;

    public DatabaseGate(NpgsqlDataSource database)
        : this(PoolSize(database.ConnectionString))
    {
    }

    internal DatabaseGate(int poolSize)
    {
        Reserved = Math.Min(20, poolSize / 2);
        Limit = Math.Max(1, poolSize - Reserved);
        _slots = new SemaphoreSlim(Limit, Limit);
    }

    /// <summary>How many one-request writes may hold a connection at once.</summary>
    public int Limit { get; }

    /// <summary>Connections of the pool kept for everything else.</summary>
    public int Reserved { get; }

    /// <summary>Waits for a slot; dispose the result to give it back.</summary>
    public async ValueTask<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    /// <summary>Maximum Pool Size of a connection string (Npgsql's default, 100, when unset; 100 without pooling).</summary>
    public static int PoolSize(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return builder.Pooling ? builder.MaxPoolSize : 100;
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
