using System.Net.Sockets;
using Npgsql;
using Worker.DeadLetters;

namespace Worker.Tests.DeadLetters;

public class ErrorQueueIngestTests
{
    [Theory]
    [InlineData("22P05")] // untranslatable character
    [InlineData("22001")] // value too long
    [InlineData("22P02")] // invalid jsonb
    [InlineData("23514")] // check constraint
    [InlineData("54000")] // program limit exceeded
    public void A_row_postgresql_refuses_for_its_values_is_stored_with_less_of_the_message(string sqlState) =>
        Assert.True(ErrorQueueIngest.IsRowRefused(new PostgresException("refused", "ERROR", "ERROR", sqlState)));

    [Theory]
    [InlineData("08006")] // connection failure
    [InlineData("28P01")] // authentication
    [InlineData("42P01")] // table missing
    [InlineData("25006")] // read-only (a standby after a failover)
    [InlineData("57P01")] // admin shutdown
    [InlineData("53300")] // too many connections
    public void A_database_that_cannot_be_used_hands_the_message_back(string sqlState) =>
        Assert.False(ErrorQueueIngest.IsRowRefused(new PostgresException("away", "FATAL", "FATAL", sqlState)));

    [Fact]
    public void Connection_failures_and_timeouts_hand_the_message_back()
    {
        Assert.False(ErrorQueueIngest.IsRowRefused(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.False(ErrorQueueIngest.IsRowRefused(new TimeoutException()));
        Assert.False(ErrorQueueIngest.IsRowRefused(new OperationCanceledException()));
    }

    [Fact]
    public void Values_the_client_cannot_send_are_refused_rows() =>
        Assert.True(ErrorQueueIngest.IsRowRefused(new InvalidCastException("Writing values of 'X' is not supported")));
}
