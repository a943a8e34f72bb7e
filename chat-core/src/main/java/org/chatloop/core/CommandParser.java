package org.chatloop.core;

/**
 * Turns one sanitised line into a {@link Command}. Pure: never throws, whatever the input.
 *
 * <p>A line that starts with {@code /} is a command; a line that starts with {@code //} is text
 * that starts with one {@code /} (so {@code //shrug} says "/shrug"). Command names are
 * case-insensitive (in ASCII); arguments are separated by spaces or tabs.
 */
final class CommandParser {
    static final String HELP = "commands: /nick NAME, /join ROOM, /rooms, /who, /msg NAME TEXT, "
            + "/quit, /help; any other line goes to your room (start it with // to send a leading /)";

    private CommandParser() {
    }

    static Command parse(String line) {
        if (!line.startsWith("/")) {
            return new Command.Say(line);
        }
        if (line.startsWith("//")) {
            return new Command.Say(line.substring(1));
        }
        int nameEnd = nextSpace(line, 1);
        String name = Names.key(line.substring(1, nameEnd));
        String rest = line.substring(skipSpaces(line, nameEnd));
        switch (name) {
            case "quit":
                return rest.isEmpty() ? new Command.Quit() : usage("/quit");
            case "rooms":
                return rest.isEmpty() ? new Command.Rooms() : usage("/rooms");
            case "who":
                return rest.isEmpty() ? new Command.Who() : usage("/who");
            case "help":
                return rest.isEmpty() ? new Command.Help() : usage("/help");
            case "nick": {
                String nick = singleArgument(rest);
                if (nick == null) {
                    return usage("/nick NAME");
                }
                return Names.isValid(nick) ? new Command.Nick(nick)
                        : new Command.Invalid("invalid nick: use " + Names.RULE);
            }
            case "join": {
                String room = singleArgument(rest);
                if (room == null) {
                    return usage("/join ROOM");
                }
                return Names.isValid(room) ? new Command.Join(room)
                        : new Command.Invalid("invalid room name: use " + Names.RULE);
            }
            case "msg": {
                int targetEnd = nextSpace(rest, 0);
                String target = rest.substring(0, targetEnd);
                String text = rest.substring(skipSpaces(rest, targetEnd));
                if (target.isEmpty() || text.isBlank()) {
                    return usage("/msg NAME TEXT");
                }
                return new Command.Msg(target, text);
            }
            default:
                return new Command.Invalid("unknown command /" + shorten(name) + " (try /help)");
        }
    }

    private static Command usage(String form) {
        return new Command.Invalid("usage: " + form);
    }

    /** @return the only argument in {@code rest}, or null if there is none or more than one */
    private static String singleArgument(String rest) {
        int end = nextSpace(rest, 0);
        if (end == 0 || skipSpaces(rest, end) != rest.length()) {
            return null;
        }
        return rest.substring(0, end);
    }

    private static int nextSpace(String s, int from) {
        int i = from;
        while (i < s.length() && s.charAt(i) != ' ' && s.charAt(i) != '\t') {
            i++;
        }
        return i;
    }

    private static int skipSpaces(String s, int from) {
        int i = from;
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
            i++;
        }
        return i;
    }

    /** @return at most 32 code points of {@code s}, never half a surrogate pair */
    private static String shorten(String s) {
        if (s.codePointCount(0, s.length()) <= 32) {
            return s;
        }
        return s.substring(0, s.offsetByCodePoints(0, 32)) + "...";
    }
}
