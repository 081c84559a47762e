using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client;
using Worker.DeadLetters;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Messaging;
using Worker.Persistence;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>
/// The <c>_error</c> ingester on real RabbitMQ and PostgreSQL, alone: its own queues and a scratch database, so no
/// worker competes for the messages and constraints can be added to make PostgreSQL refuse rows. A message it cannot
/// read, or whose row is refused, is stored once as <c>unreadable</c> and acknowledged; stopping the ingester then
/// finds nothing handed back to the queue.
/// </summary>
public sealed class UnreadableErrorQueueTests : IAsyncLifetime
{
    private readonly string _queue = $"it-unreadable-{Guid.NewGuid():N}";
    private string _database = null!;
    private NpgsqlDataSource _db = null!;
    private RawAmqp _amqp = null!;
    private ErrorQueueIngest _ingest = null!;

    private string ErrorQueue => _queue + "_error";

    public async Task InitializeAsync()
    {
        _database = await AuditDatabase.CreateScratchAsync("unreadable");
        await AuditDatabase.MigrateAsync(_database);
        _db = NpgsqlDataSource.Create(_database);
        _amqp = await RawAmqp.ConnectAsync();
        var messaging = new MessagingOptions { QueueName = _queue };
        // With the request queue's arguments (x-max-priority), as MassTransit and the ingest declare it.
        await _amqp.PurgeAsync(ErrorQueue, RequestQueue.Arguments(messaging));
        _ingest = new ErrorQueueIngest(RabbitMqAddress.Parse(TestEnvironment.RabbitMq), _db, Options.Create(messaging),
            Options.Create(new DeadLettersOptions()), TimeProvider.System, NullLogger<ErrorQueueIngest>.Instance);
    }

    public async Task DisposeAsync()
    {
        if (_ingest is not null)
        {
            await _ingest.StopAsync(CancellationToken.None);
            _ingest.Dispose();
        }

        if (_amqp is not null)
        {
            await _amqp.DeleteAsync(ErrorQueue);
            await _amqp.DeleteAsync(_queue + "_skipped");
            await _amqp.DisposeAsync();
        }

        if (_db is not null)
            await _db.DisposeAsync();
        if (_database is not null)
            await AuditDatabase.DropScratchAsync(_database);
    }

    private static Dictionary<string, object?> FaultHeaders() => new()
    {
        ["MT-Reason"] = "fault",
        ["MT-Fault-ExceptionType"] = "System.InvalidOperationException",
        ["MT-Fault-Message"] = "Something broke",
    };

    private static string Request(string conversationId, string messages = """[{"role":"user","content":"Hi"}]""") =>
        $$"""{"requestId":"{{Guid.NewGuid()}}","conversationId":"{{conversationId}}","messages":{{messages}}}""";

    private async Task<string> PublishAsync(string body, Dictionary<string, object?> headers)
    {
        var messageId = Guid.NewGuid().ToString();
        await _amqp.PublishBytesAsync("", ErrorQueue, Encoding.UTF8.GetBytes(body),
            new BasicProperties { ContentType = "application/json", MessageId = messageId, Persistent = true, Headers = headers });
        return messageId;
    }

    /// <summary>The row with <paramref name="id"/>, once the ingester has stored it.</summary>
    private async Task<Dictionary<string, object?>> WaitForRowAsync(Guid id) =>
        (await Eventually.ValueAsync(async () =>
        {
            await using var command = _db.CreateCommand("SELECT reason, body, headers::text AS headers, error FROM dead_letters WHERE id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync()
                ? Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i))
                : null;
        }, row => row is not null, TestEnvironment.ResultTimeout, $"dead letter {id} to be stored"))!;

    /// <summary>The id the ingester gives the message (derived from its message id).</summary>
    private static Guid IdOf(string messageId) =>
        ErrorQueueMessage.ToDeadLetter("x"u8, null, messageId, null, DateTimeOffset.UnixEpoch).Id;

    private async Task<long> RowCountAsync()
    {
        await using var command = _db.CreateCommand("SELECT count(*) FROM dead_letters");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Stops the ingester: whatever it had not acknowledged goes back to the queue, where it would be counted.</summary>
    private async Task AssertDrainedAsync()
    {
        await _ingest.StopAsync(CancellationToken.None);
        Assert.Equal(0u, await _amqp.ReadyCountAsync(ErrorQueue));
    }

    [Fact]
    public async Task The_poison_shapes_of_the_issue_are_each_stored_once_as_unreadable_and_the_queue_drains()
    {
        var nullMessage = Request($"null-message-{Guid.NewGuid():N}", """[{"role":"user","content":"Hi"},null]""");
        var nullMessageId = await PublishAsync(nullMessage, FaultHeaders());
        var collidingHeaders = FaultHeaders();
        collidingHeaders["X-Tenant\0"] = "a";
        collidingHeaders["X-Tenant\uFFFD"] = "b";
        var collidingBody = Request($"colliding-headers-{Guid.NewGuid():N}");
        var collidingId = await PublishAsync(collidingBody, collidingHeaders);

        await _ingest.StartAsync(CancellationToken.None);

        var nullRow = await WaitForRowAsync(IdOf(nullMessageId));
        Assert.Equal((ErrorQueueReasons.Unreadable, nullMessage), (nullRow["reason"], nullRow["body"]));
        Assert.Contains("messages[1] is null", (string)nullRow["error"]!);
        Assert.Contains("Something broke", (string)nullRow["headers"]!);

        var collidingRow = await WaitForRowAsync(IdOf(collidingId));
        Assert.Equal((ErrorQueueReasons.Unreadable, collidingBody), (collidingRow["reason"], collidingRow["body"]));
        Assert.Contains("header keys", (string)collidingRow["error"]!);
        Assert.Contains("X-Tenant\uFFFD (2)", (string)collidingRow["headers"]!);

        await AssertDrainedAsync();
        Assert.Equal(2, await RowCountAsync());
    }

    [Fact]
    public async Task A_row_postgresql_refuses_is_stored_as_unreadable_and_one_refused_again_as_a_bare_row()
    {
        // Rows PostgreSQL refuses for their values (23514), made to order: a marker refuses the row as read, another any
        // row holding a body.
        await using (var constrain = _db.CreateCommand("""
            ALTER TABLE dead_letters ADD CONSTRAINT it_refuse_read CHECK (reason = 'unreadable' OR body NOT LIKE '%it-refuse-read%');
            ALTER TABLE dead_letters ADD CONSTRAINT it_refuse_raw CHECK (body NOT LIKE '%it-refuse-raw%');
            """))
        {
            await constrain.ExecuteNonQueryAsync();
        }

        var readRefused = Request("it-refuse-read");
        var readRefusedId = await PublishAsync(readRefused, FaultHeaders());
        var allRefusedId = await PublishAsync(Request("it-refuse-raw"), FaultHeaders());

        await _ingest.StartAsync(CancellationToken.None);

        var unreadable = await WaitForRowAsync(IdOf(readRefusedId));
        Assert.Equal((ErrorQueueReasons.Unreadable, readRefused), (unreadable["reason"], unreadable["body"]));
        Assert.Contains("PostgreSQL refused its row", (string)unreadable["error"]!);
        Assert.Contains("it_refuse_read", (string)unreadable["error"]!);

        var bare = await WaitForRowAsync(IdOf(allRefusedId));
        Assert.Equal((ErrorQueueReasons.Unreadable, null, null), (bare["reason"], bare["body"], bare["headers"]));
        Assert.Contains("it_refuse_raw", (string)bare["error"]!);

        await AssertDrainedAsync();
        Assert.Equal(2, await RowCountAsync());
    }
}
