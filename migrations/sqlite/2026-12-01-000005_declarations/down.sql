DROP TABLE declaration_history;
DROP TABLE declarations;
DROP TABLE consents;
DROP TABLE privacy_notices;
