using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Messaging;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>
/// Reads the request queue's <c>_error</c> queue (and its <c>_skipped</c> queue, where MassTransit puts messages of a type
/// no consumer takes) into the dead-letter store, with MassTransit's fault headers and the body as text. A plain AMQP consumer (RabbitMQ.Client, which MassTransit itself runs on) rather than a MassTransit receive
/// endpoint: what lands in <c>_error</c> is by definition what MassTransit's pipeline could not handle (a body no
/// deserializer reads, any content type), and a MassTransit endpoint would deserialize before any handler ran and move
/// whatever it could not read on to <c>_error_error</c>. Here bytes and headers are taken as they are.
/// </summary>
/// <remarks>
/// A message is acknowledged only after its row is committed, and the insert is idempotent by message id, so nothing
/// is lost or doubled. When PostgreSQL is away the message is handed back (nack, requeue) after a pause, which also
/// holds back the next ones: the broker keeps them, nothing is dropped. The queue has no delivery limit, so a message
/// must never be handed back for what it holds: one that cannot be read, or whose row PostgreSQL refuses, is stored
/// as <c>unreadable</c> (see <see cref="StoreAsync"/>).
/// </remarks>
public sealed class ErrorQueueIngest(
    RabbitMqAddress broker,
    NpgsqlDataSource dataSource,
    IOptions<MessagingOptions> messaging,
    IOptions<DeadLettersOptions> options,
    TimeProvider time,
    ILogger<ErrorQueueIngest> logger) : BackgroundService
{
    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(5);

    private const string InsertSql = $"""
        INSERT INTO dead_letters (id, request_id, source, status, reason, error_class, provider, chain, exception_type, group_key, error,
                                  stack_trace, message, body, content_type, headers, faulted_at, first_parked_at, last_parked_at, park_count)
        VALUES (@id, @request_id, @source, '{DeadLetterStatus.Parked}', @reason, NULL, NULL, @chain, @exception_type,
                @group_key, @error, @stack_trace, @message, @body, @content_type, @headers, @faulted_at, @parked_at, @parked_at, 1)
        ON CONFLICT (id) DO NOTHING
        """;

    /// <summary>The queue MassTransit moves the request queue's faulted messages to.</summary>
    public string Queue => RequestQueue.ErrorQueue(messaging.Value.QueueName);

    /// <summary>The queue MassTransit moves messages to when no consumer on the request queue takes their message type.</summary>
    public string SkippedQueue => RequestQueue.SkippedQueue(messaging.Value.QueueName);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            VirtualHost = broker.VirtualHost,
            UserName = broker.Username,
            Password = broker.Password,
            Ssl = new SslOption { Enabled = broker.UseTls, ServerName = broker.Host },
            ClientProvidedName = "llm-worker error-queue ingest",
            // Reconnects and re-subscribes by itself after a broker restart.
            AutomaticRecoveryEnabled = true,
        };

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync(stoppingToken);
                await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
                // As MassTransit declares them (durable, the request queue's arguments), so whichever of the two comes first, both agree.
                var arguments = RequestQueue.Arguments(messaging.Value);
                await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: stoppingToken);
                await channel.QueueDeclareAsync(SkippedQueue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: stoppingToken);
                await channel.BasicQosAsync(0, 16, false, stoppingToken);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) => IngestAsync(channel, delivery, skipped: false, stoppingToken);
                await channel.BasicConsumeAsync(Queue, autoAck: false, consumer, stoppingToken);
                var skippedConsumer = new AsyncEventingBasicConsumer(channel);
                skippedConsumer.ReceivedAsync += (_, delivery) => IngestAsync(channel, delivery, skipped: true, stoppingToken);
                await channel.BasicConsumeAsync(SkippedQueue, autoAck: false, skippedConsumer, stoppingToken);
                Log.IngestingErrorQueue(logger, $"{Queue} and {SkippedQueue}", broker.ToString());
                await Task.Delay(Timeout.InfiniteTimeSpan, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.ErrorQueueUnavailable(logger, e, Queue, Backoff.TotalSeconds);
                try
                {
                    await Task.Delay(Backoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task IngestAsync(IChannel channel, BasicDeliverEventArgs delivery, bool skipped, CancellationToken stoppingToken)
    {
        try
        {
            var row = await StoreAsync(delivery, skipped, stoppingToken);
            await channel.BasicAckAsync(delivery.DeliveryTag, false, stoppingToken);
            if (row.Reason == ErrorQueueReasons.Unreadable)
                Log.IngestedUnreadable(logger, row.Id, delivery.BasicProperties.MessageId, row.Error);
            else
                Log.Ingested(logger, row.Id, row.Reason, row.ExceptionType, row.RequestId);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Not acknowledged: the broker redelivers it to the next consumer.
        }
        catch (Exception e)
        {
            Log.IngestFailed(logger, e, delivery.BasicProperties.MessageId, Backoff.TotalSeconds);
            try
            {
                await Task.Delay(Backoff, time, stoppingToken);
                await channel.BasicNackAsync(delivery.DeliveryTag, false, requeue: true, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: the unacknowledged message goes back to the queue with the channel.
            }
        }
    }

    /// <summary>
    /// Stores the message, stepping down each time PostgreSQL refuses a row for its values: the row as read, then the
    /// unreadable row (raw body, headers), then a bare row of the ingester's own values. Throws only when the database
    /// cannot be used at all, which is the one case where handing the message back helps.
    /// </summary>
    private async Task<DeadLetterRow> StoreAsync(BasicDeliverEventArgs delivery, bool skipped, CancellationToken cancellationToken)
    {
        var body = delivery.Body;
        var properties = delivery.BasicProperties;
        var row = ErrorQueueMessage.ToDeadLetter(body.Span, properties.ContentType, properties.MessageId, properties.Headers, time.GetUtcNow(),
            skipped, options.Value.MaxErrorBodyBytes);
        if (row.Reason != ErrorQueueReasons.Unreadable)
        {
            try
            {
                await InsertAsync(row, cancellationToken);
                return row;
            }
            catch (Exception e) when (IsRowRefused(e))
            {
                Log.RowRefused(logger, e, row.Id, row.Reason, properties.MessageId);
                row = ErrorQueueMessage.Unreadable(body.Span, properties.ContentType, properties.MessageId, properties.Headers, row.FirstParkedAt,
                    skipped, $"PostgreSQL refused its row ({ErrorQueueMessage.Describe(e)})");
            }
        }

        try
        {
            await InsertAsync(row, cancellationToken);
            return row;
        }
        catch (Exception e) when (IsRowRefused(e))
        {
            Log.RowRefused(logger, e, row.Id, row.Reason, properties.MessageId);
            row = ErrorQueueMessage.Bare(row, $"PostgreSQL refused its row ({ErrorQueueMessage.Describe(e)})");
        }

        await InsertAsync(row, cancellationToken);
        return row;
    }

    /// <summary>
    /// PostgreSQL refused this row's values (a data exception, a constraint, a size limit), or they could not be sent:
    /// a smaller row may pass. Anything else (no connection, authentication, a missing table, a read-only server) is
    /// the database being unusable, which no other row gets past either.
    /// </summary>
    internal static bool IsRowRefused(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState[..2] is "22" or "23" or "54",
        NpgsqlException or OperationCanceledException or ObjectDisposedException or TimeoutException => false,
        _ => true,
    };

    private async Task InsertAsync(DeadLetterRow row, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(InsertSql);
        command.Parameters.Add(Parameter("id", NpgsqlDbType.Uuid, row.Id));
        command.Parameters.Add(Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId));
        command.Parameters.Add(Parameter("source", NpgsqlDbType.Varchar, row.Source));
        command.Parameters.Add(Parameter("reason", NpgsqlDbType.Varchar, row.Reason));
        command.Parameters.Add(Parameter("chain", NpgsqlDbType.Varchar, row.Chain));
        command.Parameters.Add(Parameter("exception_type", NpgsqlDbType.Varchar, row.ExceptionType));
        command.Parameters.Add(Parameter("group_key", NpgsqlDbType.Varchar, row.GroupKey));
        command.Parameters.Add(Parameter("error", NpgsqlDbType.Text, row.Error));
        command.Parameters.Add(Parameter("stack_trace", NpgsqlDbType.Text, row.StackTrace));
        command.Parameters.Add(Parameter("message", NpgsqlDbType.Jsonb, row.Message));
        command.Parameters.Add(Parameter("body", NpgsqlDbType.Text, row.Body));
        command.Parameters.Add(Parameter("content_type", NpgsqlDbType.Varchar, row.ContentType));
        command.Parameters.Add(Parameter("headers", NpgsqlDbType.Jsonb, row.Headers));
        command.Parameters.Add(Parameter("faulted_at", NpgsqlDbType.TimestampTz, row.FaultedAt));
        command.Parameters.Add(Parameter("parked_at", NpgsqlDbType.TimestampTz, row.FirstParkedAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object? value) => new(name, type) { Value = value ?? DBNull.Value };
}
