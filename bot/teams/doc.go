// Package teams is Nightshift's Microsoft Teams surface over the Bot
// Framework:
//
//   - Card, Attachment, Text: a pure Adaptive Card renderer for the
//     platform-neutral bot.Message; buttons are Action.Submit with data
//     {"action": button ID, "value": button value};
//   - Poster: a new conversation (thread) per parent message in a channel,
//     replies into "channel;messageid=<thread>", updates in place, pictures
//     as inline images; it implements bot.Poster and bot.Uploader;
//   - Bot: the POST /api/messages handler. Every activity's token is
//     validated (botframework.Validator) before anything else; activities
//     are deduplicated by id across replicas, answered at once and handed to
//     a bot.Service on a bounded pool: mentions (commands, follow-ups),
//     card actions (Action.Submit and Action.Execute), reactions and other
//     apps' messages in alert channels;
//   - Groups: Entra group membership through Microsoft Graph, for roles.
//
// botframework holds the protocol pieces msbotbuilder-go gets wrong (token
// validation, client-credentials tokens, the Bot Connector client);
// teamstest is a local Bot Framework for tests. deploy/teams holds the app
// manifest and icons; `nightshift teams package` zips them.
//
// It must not import integrations, store, server or cmd, nor any other chat
// transport: it talks to the rest of Nightshift only through bot and engine.
package teams
