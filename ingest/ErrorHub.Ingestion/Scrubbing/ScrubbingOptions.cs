namespace ErrorHub.Ingestion.Scrubbing;

/// <summary>
/// Server-side scrubbing (<c>ErrorHub:Scrubbing</c>): what ingest removes from events before they are
/// stored, whatever the SDK sent, so an old or foreign SDK cannot leak credentials into the store.
/// </summary>
public sealed class ScrubbingOptions
{
    /// <summary>Scrub at all (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Names of headers, query parameters, tags and cookies to scrub besides the built-in ones (password,
    /// secret, token, key, session, card, auth, credential and their usual spellings); matching ignores
    /// case and separators, so <c>X-Shop-Pin</c> also covers <c>x_shop_pin</c>.
    /// </summary>
    public IList<string> ExtraNames { get; } = [];

    /// <summary>Replace what looks like a payment card number (13 to 19 digits passing the Luhn check) anywhere in the event (default true).</summary>
    public bool CardNumbers { get; set; } = true;

    /// <summary>Drop the client's IP address from the user (default false: the SDK sends it only when the app opted in).</summary>
    public bool RemoveIpAddresses { get; set; }
}
